"""Codebook ordering in time: MusicGen's delay pattern.

A stage predicts ``K`` parallel token streams (codebooks) per frame. The delay pattern shifts
codebook ``k`` right by ``k`` steps, so one decoding step emits one token of every codebook and
the sequence has ``T + K - 1`` steps for ``T`` frames::

    frame t:     0   1   2   3   4        step s holds codebook k of frame s - k
    codebook 0:  a0  a1  a2  a3  a4  .  .
    codebook 1:  .   b0  b1  b2  b3  b4 .
    codebook 2:  .   .   c0  c1  c2  c3 c4

Codebook ``k`` of frame ``t`` is decoded at step ``t + k``: it sees every codebook ``j < k`` of the
same frame (the residual hierarchy) and all earlier frames. "." is the empty token ``pad_id``.

Why not flatten the codebooks into one stream (``K * T`` steps, as the paper's reference code
may)? On this project's CPUs, flattening stage 3 was measured 4-6.5x slower than parallel codebooks
(4x the steps and a 4x longer attention context; ``/work/shared/research/lm-cpu-calibration.md``:
35.2 s against 5.4 s for 10 s of audio with the small model), which rules out real-time
generation. The delay pattern costs one step per frame plus ``K - 1``.

``apply_delay`` and ``revert_delay`` are exact inverses (tested).
"""

from __future__ import annotations

import torch


def delayed_length(n_frames: int, n_codebooks: int) -> int:
    """Number of delayed steps for ``n_frames`` frames of ``n_codebooks`` codebooks."""
    return n_frames + n_codebooks - 1


def apply_delay(codes: torch.Tensor, pad_id: int) -> torch.Tensor:
    """``codes [B, K, T]`` -> ``delayed [B, K, T + K - 1]``, codebook k shifted right by k.

    Positions outside a codebook's shifted span hold ``pad_id``.
    """
    b, k, t = codes.shape
    out = codes.new_full((b, k, delayed_length(t, k)), pad_id)
    for i in range(k):
        out[:, i, i : i + t] = codes[:, i]
    return out


def revert_delay(delayed: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Undo ``apply_delay``: ``[B, K, S, ...] -> [B, K, n_frames, ...]``.

    Works on tokens ``[B, K, S]`` and on per-step outputs such as logits ``[B, K, S, V]``:
    entry ``[:, k, t]`` of the result is ``delayed[:, k, t + k]``.
    """
    k = delayed.shape[1]
    if delayed.shape[2] < delayed_length(n_frames, k):
        raise ValueError(f"{delayed.shape[2]} delayed steps cannot hold {n_frames} frames of {k} codebooks")
    return torch.stack([delayed[:, i, i : i + n_frames] for i in range(k)], dim=1)


def valid_mask(n_frames: int, n_codebooks: int, device: torch.device | None = None) -> torch.Tensor:
    """``[K, T + K - 1]`` bool: True where the delayed sequence holds a real token."""
    steps = torch.arange(delayed_length(n_frames, n_codebooks), device=device)
    frame = steps[None, :] - torch.arange(n_codebooks, device=device)[:, None]
    return (frame >= 0) & (frame < n_frames)
