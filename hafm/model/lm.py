"""One stage of the cascade: a decoder-only transformer LM with prefix conditioning.

Sequence layout (one row)::

    [ prefix frames 0 .. T_p-1 | target steps 0 .. S-1 ]      S = T + K - 1 (delay pattern)
      segment 0                   segment 1

* A prefix frame embeds the sum of its ``P`` stream embeddings (e.g. vocal + accompaniment
  semantic tokens for the coarse stage), plus segment embedding 0.
* Target step ``s`` embeds the sum of the ``K`` codebook embeddings of delayed step ``s - 1``
  (step 0 sees the empty token), plus segment embedding 1, and predicts delayed step ``s`` with one
  output head per codebook (``hafm.model.patterns``).
* Aligned condition (our addition, ``StageConfig.aligned_condition``): target step ``s`` also
  adds, for each codebook ``k``, a projection of the prefix frame time-aligned with the frame that
  step predicts for ``k`` (frame ``s - k``; prefix frame ``(s - k) * prefix_hz // target_hz``:
  2 semantic frames per 3 acoustic frames). A small model trained
  for an hour on CPU does not learn the 50/75 Hz alignment through attention alone; the prefix
  stays in the sequence as the paper's conditioning.
* Classifier-free guidance: a dropped condition replaces every prefix token by the stream's
  learned null token and zeroes the aligned condition (training: ``cond_dropout`` per example).

Attention is causal over the whole row, with a T5 relative position bias shared by all layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hafm.config import SamplingConfig, StageConfig
from hafm.model.cache import KVCache
from hafm.model.layers import Block, RelativePositionBias, RMSNorm, geglu_hidden
from hafm.model.patterns import apply_delay, delayed_length, revert_delay
from hafm.sampling import guide, sample, sample_rows, with_repeat_bias


class StageLM(nn.Module):
    """Prefix ``[B, P, T_p]`` -> target ``[B, K, T]`` autoregressive LM (see module docstring)."""

    def __init__(self, cfg: StageConfig):
        super().__init__()
        self.cfg = cfg
        d, p, k = cfg.d_model, cfg.condition_streams, cfg.target_codebooks
        self.n_kv_heads = cfg.n_kv_heads or cfg.n_heads
        self.null_id = cfg.prefix_vocab  # learned "no condition" token of each prefix stream
        self.pad_id = cfg.target_vocab  # empty token of the delay pattern (also the start input)
        # one table per stream, stored as one matrix with offsets so a frame is a single gather
        self.prefix_emb = nn.Embedding(p * (cfg.prefix_vocab + 1), d)
        self.target_emb = nn.Embedding(k * (cfg.target_vocab + 1), d)
        self.register_buffer("prefix_offsets", torch.arange(p).view(1, p, 1) * (cfg.prefix_vocab + 1), persistent=False)
        self.register_buffer("target_offsets", torch.arange(k).view(1, k, 1) * (cfg.target_vocab + 1), persistent=False)
        self.segment = nn.Embedding(2, d)
        self.cond_proj = nn.Linear(d, k * d, bias=False) if cfg.aligned_condition else None  # one per codebook
        self.rel_bias = RelativePositionBias(cfg.n_heads, cfg.rel_pos_buckets, cfg.rel_pos_max_distance)
        hidden = geglu_hidden(d, cfg.ff_mult)
        self.blocks = nn.ModuleList(
            Block(d, cfg.n_heads, self.n_kv_heads, hidden, cfg.dropout) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, k * cfg.target_vocab, bias=False)  # K heads fused in one matmul
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale residual projections by depth
            nn.init.normal_(block.attn.out.weight, std=0.02 / (2 * cfg.n_layers) ** 0.5)
            nn.init.normal_(block.ff.proj_out.weight, std=0.02 / (2 * cfg.n_layers) ** 0.5)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    # ---------------------------------------------------------------- embeddings
    def _prefix_frames(self, prefix: torch.Tensor) -> torch.Tensor:
        """``prefix [B, P, T_p]`` -> conditional frame embeddings ``[B, T_p, d]`` (sum of streams)."""
        self._check_ids(prefix, self.cfg.condition_streams, self.cfg.prefix_vocab, "prefix")
        return self.prefix_emb(prefix + self.prefix_offsets).sum(dim=1)

    def _null_frame(self) -> torch.Tensor:
        """``[d]``: embedding of a prefix frame made of null tokens (the unconditional prefix)."""
        ids = self.prefix_offsets.view(-1) + self.null_id
        return self.prefix_emb(ids).sum(dim=0)

    def _prefix_input(self, frames: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        """Prefix part of the sequence ``[B, T_p, d]``; dropped rows see only null tokens."""
        x = torch.where(drop.view(-1, 1, 1), self._null_frame(), frames)
        return x + self.segment.weight[0]

    def _aligned(self, frames: torch.Tensor, drop: torch.Tensor, n_steps: int) -> torch.Tensor | None:
        """Aligned condition for target steps ``0 .. n_steps-1``: ``[B, n_steps, d]`` (None if off).

        Step ``s`` predicts codebook ``k`` of frame ``s - k`` (delay pattern), so it receives, for
        each ``k``, codebook ``k``'s own projection of the prefix frame aligned with frame ``s - k``.
        """
        if self.cond_proj is None:
            return None
        b, n_prefix, d = frames.shape
        k = self.cfg.target_codebooks
        projected = self.cond_proj(frames).view(b, n_prefix, k, d)
        steps = torch.arange(n_steps, device=frames.device)
        aligned = frames.new_zeros(b, n_steps, d)
        for i in range(k):
            frame = steps - i
            index = (frame.clamp(min=0) * self.cfg.prefix_hz // self.cfg.target_hz).clamp(max=n_prefix - 1)
            aligned = aligned + projected[:, index, i] * (frame >= 0).to(frames.dtype)[None, :, None]
        return aligned * (~drop).view(-1, 1, 1).to(frames.dtype)

    def _target_input(self, tokens: torch.Tensor, aligned: torch.Tensor | None) -> torch.Tensor:
        """``tokens [B, K, L]`` (delayed, ``pad_id`` allowed) -> target inputs ``[B, L, d]``."""
        x = self.target_emb(tokens + self.target_offsets).sum(dim=1) + self.segment.weight[1]
        return x if aligned is None else x + aligned

    @staticmethod
    def _check_ids(ids: torch.Tensor, streams: int, vocab: int, what: str) -> None:
        if ids.dim() != 3 or ids.shape[1] != streams:
            raise ValueError(f"{what} must be [B, {streams}, T], got {list(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
            raise ValueError(f"{what} ids must lie in [0, {vocab}), got [{int(ids.min())}, {int(ids.max())}]")

    def _drop_mask(self, batch: int, drop_condition: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        if drop_condition is not None:
            return drop_condition.to(device=device, dtype=torch.bool).view(batch)
        if self.training and self.cfg.cond_dropout > 0:
            return torch.rand(batch, device=device) < self.cfg.cond_dropout
        return torch.zeros(batch, dtype=torch.bool, device=device)

    # ---------------------------------------------------------------- trunk
    def _trunk(self, x: torch.Tensor, table: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Run the layers on ``x [B, L, d]`` placed after ``cache.length`` cached positions."""
        start = 0 if cache is None else cache.length
        bias = RelativePositionBias.attention_bias(table, start, x.shape[1], start + x.shape[1])
        for i, block in enumerate(self.blocks):
            x = block(x, bias, None if cache is None else cache.layers[i], start)
        if cache is not None:
            cache.length += x.shape[1]
        return self.norm(x)

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        """``h [B, L, d]`` -> ``[B, K, L, V]``."""
        b, n, _ = h.shape
        return self.head(h).view(b, n, self.cfg.target_codebooks, self.cfg.target_vocab).transpose(1, 2)

    # ---------------------------------------------------------------- training API
    def forward(self, prefix: torch.Tensor, target: torch.Tensor,
                drop_condition: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits ``[B, K, T, V]`` for ``target [B, K, T]`` given ``prefix [B, P, T_p]``.

        Entry ``[:, k, t]`` predicts ``target[:, k, t]`` from the prefix, every earlier frame and
        codebooks ``< k`` of frame ``t`` (delay pattern, applied and reverted inside).
        ``drop_condition [B]`` bool drops the condition of those rows; ``None`` draws it with
        probability ``cfg.cond_dropout`` in training mode and never in eval mode.
        """
        self._check_ids(target, self.cfg.target_codebooks, self.cfg.target_vocab, "target")
        b, k, t = target.shape
        drop = self._drop_mask(b, drop_condition, target.device)
        frames = self._prefix_frames(prefix)
        delayed = apply_delay(target, self.pad_id)
        inputs = torch.cat([torch.full_like(delayed[:, :, :1], self.pad_id), delayed[:, :, :-1]], dim=2)
        x = torch.cat([self._prefix_input(frames, drop),
                       self._target_input(inputs, self._aligned(frames, drop, inputs.shape[2]))], dim=1)
        self._check_length(x.shape[1])
        h = self._trunk(x, self.rel_bias.table(x.shape[1], x.device))
        return revert_delay(self._logits(h[:, frames.shape[1]:]), t)

    def loss(self, prefix: torch.Tensor, target: torch.Tensor,
             drop_condition: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Mean cross-entropy (nats per target token) and per-codebook CE ``{"ce_1": .., "ce_K": ..}``.

        The per-codebook values are detached scalars (for logging).
        """
        logits = self(prefix, target, drop_condition)
        ce = F.cross_entropy(logits.flatten(0, 2), target.flatten(), reduction="none").view_as(target)
        per_codebook = {f"ce_{i + 1}": ce[:, i].mean().detach() for i in range(ce.shape[1])}
        return ce.mean(), per_codebook

    def _check_length(self, n: int) -> None:
        if n > self.cfg.max_len:
            raise ValueError(f"sequence of {n} positions exceeds max_len {self.cfg.max_len} of stage "
                             f"{self.cfg.name!r}; use shorter windows")

    # ---------------------------------------------------------------- generation
    @torch.inference_mode()
    def generate(self, prefix: torch.Tensor, n_frames: int, sampling: SamplingConfig | None = None,
                 generator: torch.Generator | Sequence[torch.Generator] | None = None,
                 prompt: torch.Tensor | None = None, use_cache: bool = True,
                 repeat_bias: torch.Tensor | None = None) -> torch.Tensor:
        """Sample ``target [B, K, n_frames]`` given ``prefix [B, P, T_p]``.

        ``generator``: one for the whole batch, or a sequence of ``B`` (row ``i`` sampled with
        ``generator[i]``, so a row does not depend on the others in its batch).

        ``prompt [B, K, T_prompt]`` (``T_prompt <= n_frames``) fixes the first frames, which the
        output continues (the output starts with the prompt). The stage samples with
        ``sampling.for_stage(name)`` (per-stage overrides applied); guidance applies when its name
        is in ``guidance_stages`` and ``guidance_scale != 1``: conditional and unconditional
        rows run as one batch of ``2B``. ``use_cache=False`` recomputes the whole sequence at
        every step instead of reading the KV cache (same result; for tests and benchmarks).
        ``repeat_bias [B, n_frames]``: added, at frame ``t`` of every codebook, to the logit of that
        codebook's token at frame ``t - 1`` (onset-synchronous decoding, ``hafm.onsets.onset_hold_bias``).
        """
        if self.training:
            raise RuntimeError("StageLM.generate needs eval mode (dropout would corrupt sampling); call .eval()")
        sampling = (sampling or SamplingConfig()).for_stage(self.cfg.name)
        scale = sampling.guidance_scale if self.cfg.name in sampling.guidance_stages else 1.0
        b, k = prefix.shape[0], self.cfg.target_codebooks
        n_prompt = 0 if prompt is None else prompt.shape[2]
        if not 0 <= n_prompt <= n_frames:
            raise ValueError(f"prompt of {n_prompt} frames does not fit in {n_frames} frames")
        steps = delayed_length(n_frames, k)
        total = prefix.shape[2] + steps
        self._check_length(total)
        forced, is_forced = self._forced_tokens(b, n_frames, prompt)
        rows = self._rows(prefix, scale)
        drop = torch.arange(rows.shape[0], device=prefix.device) >= b
        frames = self._prefix_frames(rows)
        aligned = self._aligned(frames, drop, steps)
        decoder = IncrementalDecoder(self, self.rel_bias.table(total, prefix.device), rows.shape[0], total, use_cache)
        # prefill: prefix + the fully known steps (start token and prompt frames)
        known = torch.cat([torch.full_like(forced[:, :, :1], self.pad_id), forced[:, :, :n_prompt]], dim=2)
        logits = decoder(torch.cat([self._prefix_input(frames, drop), self._target_input(
            self._rows(known, scale), None if aligned is None else aligned[:, :n_prompt + 1])], dim=1))
        out = forced.clone()
        if repeat_bias is not None:
            repeat_bias = repeat_bias.to(out.device)
        for step in range(n_prompt, steps):
            repeat = None if repeat_bias is None else self._repeat_at(out, step, repeat_bias, n_frames)
            tokens = self._pick(logits, scale, sampling, generator, repeat)
            out[:, :, step] = torch.where(is_forced[:, step], out[:, :, step], tokens)
            if step + 1 < steps:
                logits = decoder(self._target_input(self._rows(out[:, :, step:step + 1], scale),
                                                    None if aligned is None else aligned[:, step + 1:step + 2]))
        return revert_delay(out, n_frames)

    def _forced_tokens(self, batch: int, n_frames: int, prompt: torch.Tensor | None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Delayed tokens fixed before sampling ``[B, K, S]`` and where they are fixed ``[K, S]``.

        Fixed: the empty token outside each codebook's span, and the prompt frames.
        """
        k = self.cfg.target_codebooks
        full = torch.full((batch, k, n_frames), self.pad_id, dtype=torch.long, device=self.head.weight.device)
        n_prompt = 0
        if prompt is not None:
            self._check_ids(prompt, k, self.cfg.target_vocab, "prompt")
            n_prompt = prompt.shape[2]
            full[:, :, :n_prompt] = prompt
        step = torch.arange(delayed_length(n_frames, k), device=full.device)
        frame = step[None] - torch.arange(k, device=full.device)[:, None]
        return apply_delay(full, self.pad_id), (frame < n_prompt) | (frame >= n_frames)

    def _repeat_at(self, out: torch.Tensor, step: int, repeat_bias: torch.Tensor, n_frames: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(previous [B, K], bias [B, K])`` at delayed ``step``: codebook ``k`` samples frame
        ``step - k``, whose previous frame it sampled at ``step - 1``; no bias without one."""
        frame = step - torch.arange(self.cfg.target_codebooks, device=out.device)
        valid = (frame >= 1) & (frame < n_frames)
        bias = repeat_bias[:, frame.clamp(0, n_frames - 1)] * valid
        previous = out[:, :, max(step - 1, 0)].clamp(max=self.cfg.target_vocab - 1)  # the empty token where invalid
        return previous, bias

    @staticmethod
    def _rows(tokens: torch.Tensor, scale: float) -> torch.Tensor:
        """Duplicate ``[B, ...]`` to the ``2B`` rows (conditional, unconditional) of guidance."""
        return torch.cat([tokens, tokens]) if scale != 1.0 else tokens

    @staticmethod
    def _pick(logits: torch.Tensor, scale: float, sampling: SamplingConfig,
              generator: torch.Generator | Sequence[torch.Generator] | None,
              repeat: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``logits [rows, K, V]`` -> tokens ``[B, K]`` (guidance combines the two halves, then
        ``repeat = (previous, bias)`` shifts the previous tokens' logits)."""
        if scale != 1.0:
            cond, uncond = logits.chunk(2)
            logits = guide(cond, uncond, scale)
        if repeat is not None:
            logits = with_repeat_bias(logits, *repeat)
        if isinstance(generator, Sequence):
            return sample_rows(logits, sampling.temperature, sampling.top_k, sampling.top_p, generator)
        return sample(logits, sampling.temperature, sampling.top_k, sampling.top_p, generator)


class IncrementalDecoder:
    """Feeds new positions to a ``StageLM`` and returns the logits ``[rows, K, V]`` of the last one.

    With the KV cache each call computes only the new positions; without it, every call reruns
    the whole sequence so far (the reference the cache is checked and timed against).
    """

    def __init__(self, lm: StageLM, table: torch.Tensor, rows: int, max_len: int, use_cache: bool):
        self.lm, self.table = lm, table
        cfg = lm.cfg
        self.cache = KVCache.allocate(len(lm.blocks), rows, lm.n_kv_heads, max_len, cfg.d_model // cfg.n_heads,
                                      dtype=table.dtype, device=table.device) if use_cache else None
        self.seen: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is None:
            self.seen = x if self.seen is None else torch.cat([self.seen, x], dim=1)
            x = self.seen
        h = self.lm._trunk(x, self.table, self.cache)
        return self.lm._logits(h[:, -1:])[:, :, 0]
