"""Deterministic tokenizer stand-ins, a test-only codec transform and the tokenizer contract checks.

A new acoustic codec or semantic tokenizer is ready for the cascade when
:func:`check_acoustic_codec` / :func:`check_semantic_tokenizer` pass on it (they assert the
interface of ``hafm.tokenizers.base``: shapes, dtypes, value ranges, batch independence, a stable
identity). :class:`RawFrames` is the worked example of a new residual k-means codec: a frame
transform, which becomes a codec by one line in ``hafm.tokenizers.codec.TRANSFORMS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hafm.tokenizers.alignment import ACOUSTIC_HOP, semantic_frames
from hafm.tokenizers.base import AcousticCodec, SemanticTokenizer


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


def use_stand_in_tokenizers(monkeypatch) -> None:
    """Make ``load_codec`` and ``load_semantic`` (looked up when a command runs) return
    :class:`ToneCodec` and :class:`EnergySemantic`: commands that load the shipped tokenizers then
    run in milliseconds. ``monkeypatch``: pytest's fixture (undone after the test)."""
    import hafm.tokenizers.codec
    import hafm.tokenizers.semantic

    monkeypatch.setattr(hafm.tokenizers.codec, "load_codec", lambda name=None: ToneCodec())
    monkeypatch.setattr(hafm.tokenizers.semantic, "load_semantic",
                        lambda name=None, hubert_dir=None: EnergySemantic())


@dataclass(frozen=True)
class RawFrames:
    """A codec frame transform for tests: frame ``t`` is waveform samples ``t * hop .. (t + 1) * hop``
    (the end zero-padded), so analysis and synthesis are a reshape. It has the interface of
    ``hafm.tokenizers.base.FrameTransform`` (``name``, ``dim``, ``params``, ``describe``,
    ``analyze``, ``energy``, ``synthesize``), all that ``hafm codec fit --transform`` needs."""

    hop: int = ACOUSTIC_HOP

    name = "raw"

    @property
    def dim(self) -> int:
        return self.hop

    def params(self) -> dict:
        return {"hop": self.hop}

    def describe(self) -> str:
        return f"raw waveform frames of {self.hop} samples (test kit)"

    def analyze(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav [B, n]`` -> ``[B, ceil(n / hop), hop]``."""
        padded = torch.nn.functional.pad(wav.to(torch.float32), (0, -wav.shape[-1] % self.hop))
        return padded.reshape(wav.shape[0], -1, self.hop)

    def energy(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.pow(2).sum(dim=-1)

    def synthesize(self, frames: torch.Tensor) -> torch.Tensor:
        """``[B, T, hop]`` -> ``wav [B, T * hop]``."""
        return frames.reshape(frames.shape[0], -1)


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
