"""Embedding many clips in worker processes, the cache read and written in this process.

The benchmark embeds every clip of every system for every backend and target (3,312 musicnn
passes in a default run). One process embedding them one by one left the second core idle for
the longest phase of a cold run. Here the clips missing from the cache go to ``workers``
processes (one thread each: two threads on a shared core were 5-30x slower); the workers only
compute, so cache files are written by one process. On another device (a GPU) or with one worker
the clips are embedded in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchmark.embeddings import Embedder
from hafm.runtime import parallel_map

Embed = Callable[[np.ndarray, int], np.ndarray]
_WORKER: dict = {}


def _hand_over(embed: Embed, sr: int) -> None:
    _WORKER["embed"], _WORKER["sr"] = embed, sr


def _work(wav: np.ndarray) -> np.ndarray:
    return _WORKER["embed"](wav, _WORKER["sr"])


def _on_cpu(embed: Embed) -> bool:
    backend = embed.backend if isinstance(embed, Embedder) else getattr(embed, "__self__", None)
    return str(getattr(backend, "device", "cpu")) == "cpu"


def _compute(embed: Embed, wavs: Sequence[np.ndarray], sr: int, workers: int, desc: str | None) -> list[np.ndarray]:
    if workers <= 1 or len(wavs) <= 1 or not _on_cpu(embed):
        return parallel_map(lambda wav: embed(wav, sr), list(wavs), 1, desc)  # here, no worker state
    return parallel_map(_work, list(wavs), workers, desc, chunksize=4, setup=_hand_over, setup_args=(embed, sr))


def embed_many(embed: Embed, wavs: Sequence[np.ndarray], sr: int, workers: int = 1,
               desc: str | None = None) -> list[np.ndarray]:
    """``[embed(w, sr) for w in wavs]``: mono clips ``[n]`` at ``sr`` Hz -> ``[n_frames, d]`` each.

    For an ``Embedder`` with a cache, cached clips are read here and only the others are
    computed (in ``workers`` processes when on the CPU), then stored here. Any other picklable
    callable is computed as is."""
    if not (isinstance(embed, Embedder) and embed.cache is not None):
        return _compute(embed, wavs, sr, workers, desc)
    cache, backend = embed.cache, embed.backend
    found = [cache.lookup(backend, w, sr) for w in wavs]
    todo = [i for i, (_, frames) in enumerate(found) if frames is None]
    computed = _compute(backend.embed, [wavs[i] for i in todo], sr, workers, desc)
    out = [frames for _, frames in found]
    for i, frames in zip(todo, computed):
        cache.store(backend, found[i][0], frames)
        out[i] = frames
    return out
