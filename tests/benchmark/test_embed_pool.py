"""Embedding many clips in worker processes: same answer as one by one, the cache used and filled."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.embed_pool import embed_many
from benchmark.embeddings import EmbeddingCache, Embedder
from benchmark.testing import SpectralBackend


@pytest.fixture
def clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) for n in (24_000, 12_000, 36_000, 24_000, 6_000)]


class Refuses(SpectralBackend):
    """Same name and fingerprint as the spectral backend, but computing anything is an error."""

    def embed(self, wav, sr):
        raise AssertionError("computed although cached")


def test_two_workers_give_the_same_frames_in_the_same_order(clips):
    backend = SpectralBackend()
    parallel = embed_many(backend.embed, clips, 24_000, workers=2)
    assert all(np.array_equal(p, backend.embed(c, 24_000)) for p, c in zip(parallel, clips, strict=True))


def test_cached_clips_are_read_and_the_others_stored(clips, tmp_path):
    cache = EmbeddingCache(tmp_path)
    first = embed_many(Embedder(SpectralBackend(), cache), clips[:3], 24_000, workers=2)
    again = embed_many(Embedder(Refuses(), cache), clips[:3], 24_000, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_only_the_missing_clips_are_computed(clips, tmp_path):
    cache = EmbeddingCache(tmp_path)
    embed_many(Embedder(SpectralBackend(), cache), clips[:2], 24_000, workers=1)
    with pytest.raises(AssertionError, match="computed although cached"):
        embed_many(Embedder(Refuses(), cache), clips[:3], 24_000, workers=1)
