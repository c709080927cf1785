"""Circular sine-window MDCT at hop 320: the fixed, invertible transform of the default codec.

Frame ``t`` covers the 640 samples of blocks ``t - 1`` and ``t`` (320 samples each, indices taken
modulo the number of blocks ``T``). Wrapping around the end gives exactly ``T = ceil(n / 320)``
frames, the frame count of EnCodec at 24 kHz, and still cancels the time-domain aliasing of every
block (TDAC), so the transform is perfect-reconstruction with no extra padding frames. With the
sine window and the ``sqrt(2 / N)`` scale it is orthonormal: squared error in the coefficient
domain equals squared error of the waveform, which is why k-means on the coefficients maximises
waveform SNR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

HOP = 320  # samples at 24 kHz (75 Hz frames); also the number of coefficients per frame


def _basis(hop: int) -> torch.Tensor:
    """Windowed MDCT basis ``[2 * hop, hop]`` in float64 (column k = coefficient k)."""
    n = torch.arange(2 * hop, dtype=torch.float64)
    k = torch.arange(hop, dtype=torch.float64)
    window = torch.sin(math.pi * (n + 0.5) / (2 * hop))
    phase = math.pi / hop * torch.outer(n + 0.5 + hop / 2, k + 0.5)
    return math.sqrt(2.0 / hop) * window[:, None] * torch.cos(phase)


_BASIS_CACHE: dict[int, torch.Tensor] = {}


def mdct_basis(hop: int = HOP) -> torch.Tensor:
    """The float32 basis ``[2 * hop, hop]``, built once per hop size."""
    if hop not in _BASIS_CACHE:
        _BASIS_CACHE[hop] = _basis(hop).to(torch.float32)
    return _BASIS_CACHE[hop]


def n_frames(n_samples: int, hop: int = HOP) -> int:
    """Frames for a waveform of ``n_samples``: ``ceil(n_samples / hop)``."""
    return -(-n_samples // hop)


def mdct(wav: torch.Tensor, hop: int = HOP) -> torch.Tensor:
    """``wav [B, n]`` (float) -> coefficients ``[B, T, hop]`` with ``T = ceil(n / hop)``.

    The waveform is zero-padded at the end to ``T * hop`` samples first.
    """
    if wav.dim() != 2:
        raise ValueError(f"mdct expects [B, n], got shape {tuple(wav.shape)}")
    batch, n = wav.shape
    frames = n_frames(n, hop)
    blocks = torch.nn.functional.pad(wav.to(torch.float32), (0, frames * hop - n))
    blocks = blocks.reshape(batch, frames, hop)
    previous = torch.roll(blocks, shifts=1, dims=1)
    windows = torch.cat([previous, blocks], dim=2)  # [B, T, 2 * hop]
    return windows @ mdct_basis(hop).to(wav.device)


def imdct(coefficients: torch.Tensor, hop: int = HOP) -> torch.Tensor:
    """Coefficients ``[B, T, hop]`` -> waveform ``[B, T * hop]`` (circular overlap-add)."""
    if coefficients.dim() != 3 or coefficients.shape[-1] != hop:
        raise ValueError(f"imdct expects [B, T, {hop}], got shape {tuple(coefficients.shape)}")
    batch, frames, _ = coefficients.shape
    windows = coefficients.to(torch.float32) @ mdct_basis(hop).to(coefficients.device).T
    # The first half of frame t lands on block t - 1, the second half on block t.
    first, second = windows[..., :hop], windows[..., hop:]
    blocks = second + torch.roll(first, shifts=-1, dims=1)
    return blocks.reshape(batch, frames * hop)


@dataclass(frozen=True)
class MdctTransform:
    """The MDCT as a codec frame transform (``hafm.tokenizers.base.FrameTransform``).

    Kept selectable (``load_codec("mdct")``): its codes reconstruct waveforms well by SI-SNR but are
    phase-like, a new code almost every frame, so a small LM cannot predict them.
    """

    hop: int = HOP  # also the number of coefficients per frame

    name = "mdct"

    @property
    def dim(self) -> int:
        return self.hop

    def params(self) -> dict:
        return {"hop": self.hop}

    def describe(self) -> str:
        return f"circular sine-window MDCT, hop {self.hop}, window {2 * self.hop}, orthonormal"

    def analyze(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, n]`` -> coefficients ``[B, ceil(n / hop), hop]``."""
        return mdct(wav, self.hop)

    def energy(self, frames: torch.Tensor) -> torch.Tensor:
        """``[N, hop]`` -> ``[N]``: the waveform energy of each frame (the transform is orthonormal)."""
        return frames.pow(2).sum(dim=-1)

    def synthesize(self, frames: torch.Tensor) -> torch.Tensor:
        """``[B, T, hop]`` -> ``wav [B, T * hop]``."""
        return imdct(frames, self.hop)
