"""On-disk cache of transcription model outputs: the embedding cache, with outputs stacked.

``<root>/<backend name>/<fingerprint[:16]>/<audio sha256>.npz`` through
``benchmark.embeddings.EmbeddingCache`` (atomic writes; an entry made by other weights or other
audio raises ``StaleCacheError``). The fingerprint covers the backend's name, version, settings
of the *model pass* and a hash of its weight file, so new weights never reuse old outputs. What
is cached is the network's raw output (posteriorgrams, f0 contours), not the notes: the note
thresholds chosen on validation songs can change without re-running any network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from benchmark.embeddings import EmbeddingCache

CACHE_ENV = "HAFM_TRANSCRIPTION_CACHE"


class ModelPass(Protocol):
    """What the cache needs of a transcription backend: ``model_output`` returns one array per
    name of ``outputs``, all of one shape."""

    name: str
    outputs: tuple[str, ...]

    @property
    def fingerprint(self) -> str: ...

    def model_output(self, wav: np.ndarray, sr: int) -> dict[str, np.ndarray]: ...


def default_cache_dir() -> Path:
    """``$HAFM_TRANSCRIPTION_CACHE``, else ``~/.cache/hafm/transcriptions``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "hafm" / "transcriptions")


class _Stacked:
    """A model pass seen as an embedding backend: its outputs stacked into one ``[k, ...]`` array."""

    def __init__(self, backend: ModelPass):
        self.backend, self.name, self.fingerprint = backend, backend.name, backend.fingerprint

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        out = self.backend.model_output(wav, sr)
        return np.stack([out[k] for k in self.backend.outputs])


class TranscriptionCache:
    """Raw model outputs on disk, one ``.npz`` per (backend fingerprint, audio)."""

    def __init__(self, root: str | Path):
        self.embeddings = EmbeddingCache(root)

    def output(self, backend: ModelPass, wav: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        """``backend.model_output(wav, sr)``, read from the cache when present, else computed and stored."""
        stacked = self.embeddings.embed(_Stacked(backend), wav, sr)
        return dict(zip(backend.outputs, stacked))
