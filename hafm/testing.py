"""A test kit: tiny configurations, deterministic tokenizer stand-ins and contract checks.

Used by the project's own tests and meant for anyone adding a part: a new acoustic codec or
semantic tokenizer is ready for the cascade when :func:`check_acoustic_codec` /
:func:`check_semantic_tokenizer` pass on it (they assert the interface of
``hafm.tokenizers.base``: shapes, dtypes, value ranges, batch independence, a stable identity).
Nothing here loads weights or reads files.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from hafm.config import STAGES, CascadeConfig, small
from hafm.model.cascade import Cascade
from hafm.tokenizers.alignment import ACOUSTIC_HOP, semantic_frames
from hafm.tokenizers.base import AcousticCodec, SemanticTokenizer

TINY_STAGE = dict(d_model=32, n_layers=1, n_heads=2, rel_pos_buckets=8, rel_pos_max_distance=32)


def tiny_config(max_len: int = 256, **stage_overrides) -> CascadeConfig:
    """The ``small`` cascade's shapes (streams, codebooks, vocabularies, rates) at a toy width."""
    cfg = small()
    tiny = {**TINY_STAGE, "max_len": max_len, **stage_overrides}
    return dataclasses.replace(cfg, **{name: dataclasses.replace(cfg.stage(name), **tiny) for name in STAGES})


def tiny_cascade(seed: int = 0, max_len: int = 256) -> Cascade:
    """A randomly initialised (seeded) three-stage cascade of :func:`tiny_config`, in eval mode."""
    return Cascade.from_config(tiny_config(max_len), seed=seed)


class EnergySemantic:
    """Semantic tokens from the energy of each 20 ms frame: deterministic, shaped like the real
    tokenizer (16 kHz in, 50 Hz tokens in ``0 .. 499``, ``semantic_frames`` per input)."""

    sample_rate, frame_rate, n_clusters = 16_000, 50, 500

    def __init__(self, tag: str = "energy"):
        self.tag = tag

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        n = semantic_frames(wav.shape[-1], self.sample_rate)
        padded = torch.nn.functional.pad(wav[:, 0], (0, n * 320 - wav.shape[-1]))
        return (padded.view(wav.shape[0], n, 320).pow(2).mean(-1) * 1e4).long() % self.n_clusters

    def identity(self) -> str:
        return f"fake-semantic-{self.tag}"


class ToneCodec:
    """Codes from the frame energy; each decoded frame is a tone whose pitch follows the sum of the
    given codebooks, so the number of codebooks changes the sound (24 kHz, 75 Hz, 8 x 1024)."""

    sample_rate, frame_rate, n_codebooks, codebook_size, n_coarse = 24_000, 75, 8, 1024, 4

    def __init__(self, tag: str = "tone"):
        self.tag = tag

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        frames = torch.nn.functional.pad(wav, (0, -wav.shape[-1] % ACOUSTIC_HOP))
        energy = (frames.reshape(wav.shape[0], -1, ACOUSTIC_HOP).abs().mean(-1) * 4096).long()
        return torch.stack([(energy + k) % self.codebook_size for k in range(self.n_codebooks)], dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        freq = 100.0 + codes.sum(1).float().repeat_interleave(ACOUSTIC_HOP, dim=-1) / 8
        t = torch.arange(freq.shape[-1]) / self.sample_rate
        return (0.1 * torch.sin(2 * math.pi * freq * t)).unsqueeze(1)

    def identity(self) -> str:
        return f"fake-codec-{self.tag}"


def _test_audio(batch: int, n: int, seed: int = 0) -> torch.Tensor:
    """``[batch, 1, n]``: seeded noise under a slow envelope, so every frame differs."""
    g = torch.Generator().manual_seed(seed)
    envelope = 0.5 + 0.4 * torch.sin(torch.linspace(0, 20, n))
    return 0.3 * envelope * torch.randn(batch, 1, n, generator=g)


def check_acoustic_codec(codec: AcousticCodec, seconds: float = 0.5) -> None:
    """Assert the ``AcousticCodec`` contract on ``seconds`` of audio (n not a multiple of the hop)."""
    assert isinstance(codec, AcousticCodec), "missing attributes or methods of AcousticCodec"
    hop = codec.sample_rate // codec.frame_rate
    n = int(seconds * codec.sample_rate) + 7
    wav = _test_audio(2, n)
    codes = codec.encode(wav)
    assert codes.dtype == torch.long and codes.shape == (2, codec.n_codebooks, math.ceil(n / hop)), codes.shape
    assert 0 <= int(codes.min()) and int(codes.max()) < codec.codebook_size
    assert torch.equal(codec.encode(wav[1:]), codes[1:]), "a batch row must not depend on the other rows"
    for k in sorted({1, int(getattr(codec, "n_coarse", codec.n_codebooks)), codec.n_codebooks}):
        out = codec.decode(codes[:, :k])
        assert out.shape == (2, 1, codes.shape[-1] * hop) and torch.isfinite(out).all(), (k, out.shape)
    assert isinstance(codec.identity(), str) and codec.identity() == codec.identity()


def check_semantic_tokenizer(tokenizer: SemanticTokenizer, seconds: float = 0.5) -> None:
    """Assert the ``SemanticTokenizer`` contract on ``seconds`` of audio at its own rate."""
    assert isinstance(tokenizer, SemanticTokenizer), "missing attributes or methods of SemanticTokenizer"
    n = int(seconds * tokenizer.sample_rate) + 5
    wav = _test_audio(2, n, seed=1)
    tokens = tokenizer.encode(wav)
    assert tokens.dtype == torch.long and tokens.shape == (2, semantic_frames(n, tokenizer.sample_rate)), tokens.shape
    assert 0 <= int(tokens.min()) and int(tokens.max()) < tokenizer.n_clusters
    assert torch.equal(tokenizer.encode(wav[1:]), tokens[1:]), "a batch row must not depend on the other rows"
    assert isinstance(tokenizer.identity(), str) and tokenizer.identity() == tokenizer.identity()
