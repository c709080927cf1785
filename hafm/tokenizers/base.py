"""The two tokenizer interfaces every implementation (default and real path) satisfies, and the
frame transform interface of the residual k-means codecs (``hafm.tokenizers.codec.TRANSFORMS``)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class AcousticCodec(Protocol):
    """EnCodec-shaped codec: 24 kHz mono, 75 Hz frames, 8 residual codebooks of 1024 codes."""

    sample_rate: int  # 24_000 Hz
    frame_rate: int  # 75 Hz
    n_codebooks: int  # 8
    codebook_size: int  # 1024

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` float at 24 kHz -> ``codes [B, 8, ceil(n / 320)]`` int64."""

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``codes [B, k, T]`` (the first k codebooks, k in 1..8) -> ``wav [B, 1, T * 320]``."""

    def identity(self) -> str:
        """A short hash naming the exact weights, so caches made by another codec are detected."""


@runtime_checkable
class SemanticTokenizer(Protocol):
    """HuBERT-shaped tokenizer: 16 kHz mono in, 50 Hz cluster ids (500 clusters) out."""

    sample_rate: int  # 16_000 Hz
    frame_rate: int  # 50 Hz
    n_clusters: int  # 500

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, 1, n]`` float at 16 kHz -> ``tokens [B, T_s]`` int64, T_s per ``alignment``."""

    def identity(self) -> str:
        """A short hash naming the feature extractor and the fitted k-means."""


class FrameTransform(Protocol):
    """The frames a residual k-means codec quantises: 75 Hz frames of ``dim`` values at 24 kHz.

    ``analyze`` must give ``ceil(n / hop)`` frames for ``n`` samples (EnCodec's frame count) and
    ``synthesize`` ``T * hop`` samples for ``T`` frames; ``params()`` are the keyword arguments that
    rebuild the transform (stored in the codebook file), ``energy`` lets fitting skip silent frames.
    """

    name: str
    hop: int  # 320 samples at 24 kHz

    @property
    def dim(self) -> int:
        """Values per frame."""

    def params(self) -> dict:
        """Constructor keyword arguments (JSON values)."""

    def describe(self) -> str:
        """One line for reports and the codebook file."""

    def analyze(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, n]`` -> ``frames [B, ceil(n / hop), dim]``."""

    def energy(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [N, dim]`` -> ``[N]`` energy of each frame."""

    def synthesize(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, T, dim]`` -> ``wav [B, T * hop]``."""
