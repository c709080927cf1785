"""Fit the semantic k-means on a MUSDB18(-HQ)-layout corpus: sample feature frames, cluster, save.

Sources are the ``vocals`` and ``accompaniment`` (bass + drums + other) stems of every track in
the split, visited in a seeded order. From each source a seeded random excerpt is analysed and
``frames_per_file`` of its frames are kept, until ``max_frames`` frames are collected: this
bounds the fit time while covering many songs. Sampled frames are cached per source, so an
interrupted fit resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hafm.data import musdb_io
from hafm.errors import HafmError
from hafm.fileio import atomic_save, sha256_file, sha256_json
from hafm.tokenizers.alignment import SEMANTIC_HOP, SEMANTIC_SR, padded_length
from hafm.tokenizers.features import FeatureExtractor, build_extractor
from hafm.tokenizers.semantic import KMeansSemanticTokenizer, SemanticConfig, standardisation

EXCERPT_SECONDS = 16.0  # audio analysed per source
MARGIN_SECONDS = 1.5  # extra context each side, so kept frames never see the excerpt's edges


def excerpt_frames(extractor: FeatureExtractor, wav_16k: np.ndarray, rng: np.random.Generator,
                   n_keep: int, excerpt_seconds: float = EXCERPT_SECONDS) -> np.ndarray:
    """Features of a random excerpt of ``wav_16k``; ``n_keep`` random frames ``[<= n_keep, d]``."""
    block = 2 * SEMANTIC_HOP
    excerpt = int(excerpt_seconds * SEMANTIC_SR) // block * block
    margin = int(MARGIN_SECONDS * SEMANTIC_SR) // block * block
    start = int(rng.integers(0, max(1, wav_16k.shape[0] - excerpt) // block + 1)) * block
    lo, hi = max(0, start - margin), min(wav_16k.shape[0], start + excerpt + margin)
    piece = wav_16k[lo:hi]
    piece = np.pad(piece, (0, padded_length(piece.shape[0], SEMANTIC_SR) - piece.shape[0]))
    feats = extractor(piece)
    first = (start - lo) // SEMANTIC_HOP  # keep only frames of the excerpt itself
    inner = feats[first:first + excerpt // SEMANTIC_HOP]
    idx = np.sort(rng.choice(inner.shape[0], size=min(n_keep, inner.shape[0]), replace=False))
    return inner[idx]


def source_fingerprint(track, stem: str) -> str:
    """sha256 over ``stem`` and the contents of the files it is decoded from (a ``.stem.mp4`` holds
    every stem, so the stem's name is part of the fingerprint)."""
    return sha256_json([stem] + [sha256_file(p) for p in musdb_io.stem_paths(track, stem)])


def sample_corpus_frames(root: str | Path, cfg: SemanticConfig, extractor: FeatureExtractor,
                         cache_dir: Path | None = None, split: str = "train",
                         progress: bool = True) -> tuple[np.ndarray, list[dict]]:
    """Frames ``[N <= cfg.max_frames, d]`` sampled from ``split``, and the sources they came from."""
    from tqdm import tqdm

    sources = [(t, s) for t in musdb_io.tracks_of(root, split) for s in musdb_io.STEMS]
    order = np.random.default_rng(cfg.seed).permutation(len(sources))
    feature_key = sha256_json({"features": cfg.features.describe(), "per_file": cfg.frames_per_file,
                               "excerpt": EXCERPT_SECONDS, "seed": cfg.seed})[:16]
    chunks, used, total = [], [], 0
    bar = tqdm(total=cfg.max_frames, unit="frame", desc="semantic features", disable=not progress)
    for i in order:
        if total >= cfg.max_frames:
            break
        track, stem = sources[i]
        fingerprint = source_fingerprint(track, stem)
        frames = _cached_or_computed(cache_dir, feature_key, fingerprint, lambda: excerpt_frames(
            extractor, musdb_io.read_stem(track, stem, SEMANTIC_SR), _source_rng(cfg.seed, track.name, stem),
            cfg.frames_per_file))
        frames = frames[:cfg.max_frames - total]
        chunks.append(frames)
        used.append({"track": track.name, "stem": stem, "sha256": fingerprint, "frames": int(frames.shape[0])})
        total += frames.shape[0]
        bar.update(frames.shape[0])
    bar.close()
    return np.concatenate(chunks).astype(np.float32), used


def _source_rng(seed: int, track: str, stem: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(hashlib.sha256(f"{track}/{stem}".encode()).hexdigest()[:8], 16)])


def _cached_or_computed(cache_dir: Path | None, key: str, fingerprint: str,
                        compute: Callable[[], np.ndarray]) -> np.ndarray:
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / key / f"{fingerprint[:32]}.npy"
    if path.is_file():
        return np.load(path)
    frames = compute()
    atomic_save(path, lambda p: np.save(p, frames))
    return frames


def fit_on_corpus(root: str | Path, cfg: SemanticConfig, cache_dir: Path | None = None,
                  progress: bool = True) -> KMeansSemanticTokenizer:
    """Sample frames from ``root``'s train split and fit the k-means tokenizer of ``cfg``."""
    from hafm.provenance import provenance

    extractor = build_extractor(cfg.features)
    t0 = time.perf_counter()
    frames, used = sample_corpus_frames(root, cfg, extractor, cache_dir, progress=progress)
    t_features = time.perf_counter() - t0
    data = {"root": str(Path(root).resolve()), "split": "train", "n_sources": len(used),
            "n_tracks": len({u["track"] for u in used}), "sources_sha256": sha256_json(used)}
    tok = fit_kmeans(frames, cfg, header={"data": data}, extractor=extractor, verbose=False)
    tok.header["timing_s"] = {"features": round(t_features, 1),
                              "kmeans": round(time.perf_counter() - t0 - t_features, 1)}
    tok.header["provenance"] = provenance(config=dataclasses.asdict(cfg))
    tok.header["sources"] = used
    return tok


def fit_kmeans(frames: np.ndarray, cfg: SemanticConfig, header: dict[str, Any] | None = None,
               extractor: FeatureExtractor | None = None, verbose: bool = False) -> KMeansSemanticTokenizer:
    """Fit MiniBatchKMeans (``cfg.n_clusters``, seeded, 1 thread) on standardised ``frames [N, d]``."""
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    if frames.ndim != 2 or frames.shape[0] < cfg.n_clusters:
        raise HafmError(f"k-means with {cfg.n_clusters} clusters needs at least as many frames; got {frames.shape}")
    blocks = extractor.blocks if extractor is not None else None
    mean, std = standardisation(frames, cfg.std_floor, blocks)
    x = (frames - mean) / std
    km = MiniBatchKMeans(n_clusters=cfg.n_clusters, batch_size=cfg.batch_size, max_iter=cfg.max_iter,
                         max_no_improvement=cfg.max_no_improvement, tol=0.0, n_init=cfg.n_init,
                         random_state=cfg.seed, verbose=int(verbose))
    with threadpool_limits(limits=1):
        km.fit(x)
    fit_info = {"inertia_per_frame": float(km.inertia_ / x.shape[0]), "n_frames": int(x.shape[0]),
                "n_iter": int(km.n_iter_), "config": dataclasses.asdict(cfg)}
    return KMeansSemanticTokenizer(cfg.features, km.cluster_centers_.astype(np.float32), mean, std,
                                   {**(header or {}), "fit": fit_info}, extractor)
