"""The benchmark's test kit: a worked example of each part one adds (an embedding backend, a
system) and the contract checks every backend and system must pass.

Adding either touches two files (ARCHITECTURE.md, "Adding a part"): a backend is a class and its
line in ``benchmark.embeddings.BACKENDS``; a system is a class and its ``SystemSpec`` in
``benchmark.registry.SYSTEMS``. The examples here are registered only by tests (with pytest's
``monkeypatch``), which then run the real command lines on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.embeddings import mono_at
from benchmark.registry import Context, SystemSpec
from benchmark.systems import SR, ClipAudio
from hafm.fileio import sha256_json


@dataclass
class SpectralBackend:
    """An embedding backend without a network: ``bands`` log band energies per ``hop_s`` frame of
    16 kHz audio. Like every backend it takes the overrides ``device`` (unused: no network)."""

    name: str = "spectral"
    hop_s: float = 0.25
    bands: int = 8
    sample_rate: int = 16_000
    device: str = "cpu"

    @property
    def fingerprint(self) -> str:
        """The cache key: every setting the embeddings depend on."""
        return sha256_json({"name": self.name, "hop_s": self.hop_s, "bands": self.bands, "sr": self.sample_rate})

    def embed(self, wav, sr: int) -> np.ndarray:
        """Mono ``[n]`` at ``sr`` Hz -> ``[frames, bands]`` float32 (one frame for audio under ``hop_s``)."""
        audio = mono_at(wav, sr, self.sample_rate, f"{self.name} input").astype(np.float64)
        hop = int(self.hop_s * self.sample_rate)
        audio = np.pad(audio, (0, max(0, hop - len(audio))))
        spec = np.abs(np.fft.rfft(audio[: len(audio) // hop * hop].reshape(-1, hop), axis=1)) ** 2
        energies = np.stack([b.sum(1) for b in np.array_split(spec, self.bands, axis=1)], 1)
        return np.log(energies + 1e-6).astype(np.float32)


class VocalsEcho:
    """A benchmark system: the clip's own vocals at half level as its accompaniment (in time and in
    key with the vocal by construction, a cheap upper bound of what coherence metrics can reward)."""

    name = "vocals_echo"

    def identity(self) -> str:
        return "vocals_echo-v1"

    def __call__(self, clip: ClipAudio) -> np.ndarray:
        return 0.5 * clip.vocals


def _make_vocals_echo(ctx: Context) -> VocalsEcho:
    return VocalsEcho()


VOCALS_ECHO = SystemSpec("vocals_echo", "Vocals as accompaniment", _make_vocals_echo, paired_with=("random",))


def _tone(seconds: float, sr: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


def check_embedding_backend(backend, seconds: float = 3.0) -> None:
    """Assert the backend contract: a ``name``, a ``fingerprint`` string (the cache key), and
    ``embed(wav [n], sr) -> [frames, d]`` float32, finite (silence included: a silent system gets a
    bad FAD, not an error), deterministic, the same ``d`` at any rate, no fewer frames when longer."""
    assert isinstance(backend.name, str) and backend.name, "a backend needs a name (tables print it)"
    assert isinstance(backend.fingerprint, str) and backend.fingerprint == backend.fingerprint
    short = backend.embed(_tone(seconds, SR), SR)
    assert short.dtype == np.float32 and short.ndim == 2 and np.isfinite(short).all(), (short.dtype, short.shape)
    assert np.array_equal(backend.embed(_tone(seconds, SR), SR), short), "embeddings must be deterministic"
    longer = backend.embed(_tone(2 * seconds, 44_100), 44_100)
    assert longer.shape[1] == short.shape[1] and longer.shape[0] >= short.shape[0], (short.shape, longer.shape)
    assert np.isfinite(backend.embed(np.zeros(int(seconds * SR), np.float32), SR)).all()


def check_system(system, seconds: float = 1.0) -> None:
    """Assert the system contract on a clip of ``seconds``: a ``name``, a stable ``identity()`` (the
    output cache key) and ``system(clip) -> [n]`` finite float audio at 24 kHz, as long as the clip."""
    clip = ClipAudio("check@0.00", "check", _tone(seconds, SR, 330.0), _tone(seconds, SR, 110.0))
    assert isinstance(system.name, str) and system.name
    assert isinstance(system.identity(), str) and system.identity() == system.identity()
    out = np.asarray(system(clip))
    assert out.shape == clip.vocals.shape and np.isfinite(out).all(), out.shape
