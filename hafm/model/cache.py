"""Preallocated key/value cache for incremental decoding.

Each layer owns ``[B, H_kv, max_len, Dh]`` key and value buffers written in place; attention reads
only the filled part, so one decoding step costs one position of compute (plus reading the cache),
not a pass over the whole sequence.
"""

from __future__ import annotations

import torch


class LayerCache:
    """Keys and values of one attention layer, ``[B, H_kv, max_len, Dh]`` each."""

    def __init__(self, batch: int, n_kv_heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | None = None):
        self.keys = torch.empty(batch, n_kv_heads, max_len, head_dim, dtype=dtype, device=device)
        self.values = torch.empty_like(self.keys)

    @property
    def max_len(self) -> int:
        return self.keys.shape[2]

    def write(self, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k, v [B, H_kv, L, Dh]`` at ``start .. start+L-1``; return views of ``0 .. start+L-1``."""
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} positions; asked to fill up to {end}")
        self.keys[:, :, start:end] = k
        self.values[:, :, start:end] = v
        return self.keys[:, :, :end], self.values[:, :, :end]


class KVCache:
    """One ``LayerCache`` per layer plus the number of positions filled so far."""

    def __init__(self, layers: list[LayerCache]):
        self.layers = layers
        self.length = 0

    @classmethod
    def allocate(cls, n_layers: int, batch: int, n_kv_heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> "KVCache":
        return cls([LayerCache(batch, n_kv_heads, max_len, head_dim, dtype, device) for _ in range(n_layers)])
