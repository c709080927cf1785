"""Transformer building blocks: RMSNorm, GEGLU feed-forward, QK-norm attention with a KV cache,
and the T5 relative position bias (bucketed, shared by all layers of a stage).

Shapes: ``B`` batch, ``L`` query positions, ``N`` key positions, ``H`` heads, ``Dh`` head size,
``d`` model width. Attention is causal; the mask is folded into the additive position bias.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hafm.model.cache import LayerCache


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned per-channel gain (no mean subtraction, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def geglu_hidden(d_model: int, ff_mult: float) -> int:
    """GEGLU hidden width: ``ff_mult * d_model`` rounded up to a multiple of 64."""
    return int(math.ceil(ff_mult * d_model / 64) * 64)


class GEGLU(nn.Module):
    """Feed-forward ``W2 (gelu(x W) * x V)`` (Shazeer 2020); ``W`` and ``V`` fused in one matmul."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.proj_in = nn.Linear(d_model, 2 * hidden, bias=False)
        self.proj_out = nn.Linear(hidden, d_model, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.proj_in(x).chunk(2, dim=-1)
        return self.proj_out(self.dropout(F.gelu(gate) * value))


def relative_bucket(distance: torch.Tensor, n_buckets: int, max_distance: int) -> torch.Tensor:
    """T5's causal bucketing of ``distance >= 0`` (query minus key position, in steps).

    Half the buckets hold exact distances; the rest grow logarithmically up to ``max_distance``,
    beyond which every distance shares the last bucket.
    """
    exact = n_buckets // 2
    scaled = torch.log(distance.float().clamp(min=1) / exact) / math.log(max_distance / exact)
    far = exact + (scaled * (n_buckets - exact)).long()
    far = far.clamp(max=n_buckets - 1)
    return torch.where(distance < exact, distance, far)


class RelativePositionBias(nn.Module):
    """Learned per-head scalar bias of attention logits by bucketed query-key distance (T5).

    One instance is shared by all layers of a stage, as in T5, so the bias is built once per
    forward pass (and looked up from a table once per decoding run).
    """

    def __init__(self, n_heads: int, n_buckets: int, max_distance: int):
        super().__init__()
        self.n_buckets = n_buckets
        self.max_distance = max_distance
        self.embedding = nn.Embedding(n_buckets, n_heads)

    def table(self, n: int, device: torch.device | None = None) -> torch.Tensor:
        """``[H, n]``: bias for distances ``0 .. n-1``."""
        distance = torch.arange(n, device=device)
        return self.embedding(relative_bucket(distance, self.n_buckets, self.max_distance)).t()

    @staticmethod
    def attention_bias(table: torch.Tensor, q_start: int, q_len: int, k_len: int) -> torch.Tensor:
        """``[1, H, q_len, k_len]`` additive mask: bias of each distance, ``-inf`` on future keys.

        Queries sit at absolute positions ``q_start .. q_start + q_len - 1``, keys at ``0 .. k_len-1``.
        """
        q_pos = torch.arange(q_start, q_start + q_len, device=table.device)
        distance = q_pos[:, None] - torch.arange(k_len, device=table.device)[None, :]
        bias = table[:, distance.clamp(min=0)]
        return bias.masked_fill(distance < 0, float("-inf")).unsqueeze(0)


class Attention(nn.Module):
    """Multi-head self-attention with QK-norm (RMSNorm on each head's queries and keys).

    QK-norm bounds the attention logits, which keeps training stable at high learning rates.
    ``n_kv_heads < n_heads`` shares keys/values between groups of query heads (GQA), which cuts
    the KV-cache reads that dominate batched decoding on CPU.
    """

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_heads or n_heads % n_kv_heads:
            raise ValueError(f"d_model {d_model}, n_heads {n_heads}, n_kv_heads {n_kv_heads} do not divide")
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, (n_heads + 2 * n_kv_heads) * self.head_dim, bias=False)
        self.q_norm = RMSNorm(self.head_dim)
        self.k_norm = RMSNorm(self.head_dim)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, cache: LayerCache | None = None,
                start: int = 0) -> torch.Tensor:
        """``x [B, L, d]``, ``bias [1, H, L, N]`` -> ``[B, L, d]``.

        With ``cache``, this call's keys/values are written at positions ``start .. start+L-1``
        and the queries attend over the filled part ``0 .. start+L-1`` (``N = start + L``).
        """
        b, n, _ = x.shape
        dh = self.head_dim
        q, k, v = self.qkv(x).split([self.n_heads * dh, self.n_kv_heads * dh, self.n_kv_heads * dh], -1)
        q = self.q_norm(q.view(b, n, self.n_heads, dh)).transpose(1, 2)
        k = self.k_norm(k.view(b, n, self.n_kv_heads, dh)).transpose(1, 2)
        v = v.view(b, n, self.n_kv_heads, dh).transpose(1, 2)
        if cache is not None:
            k, v = cache.write(k, v, start)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                           enable_gqa=self.n_kv_heads != self.n_heads)
        return self.dropout(self.out(y.transpose(1, 2).reshape(b, n, -1)))


class Block(nn.Module):
    """Pre-norm transformer layer: ``x + attn(norm(x))``, then ``x + ff(norm(x))``."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, ff_hidden: int, dropout: float):
        super().__init__()
        self.attn_norm = RMSNorm(d_model)
        self.attn = Attention(d_model, n_heads, n_kv_heads, dropout)
        self.ff_norm = RMSNorm(d_model)
        self.ff = GEGLU(d_model, ff_hidden, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, cache: LayerCache | None = None,
                start: int = 0) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), bias, cache, start)
        return x + self.dropout(self.ff(self.ff_norm(x)))
