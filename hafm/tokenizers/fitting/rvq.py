"""Fitting residual k-means codebooks (``hafm.tokenizers.rvq``): k-means++ seeding and Lloyd
iterations, with centroid 0 kept at the zero vector so more codebooks are never worse.

Shapes: vectors ``[N, D]``, one codebook ``[K, D]``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from hafm.tokenizers.rvq import nearest


def kmeans_plus_plus(vectors: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding ``[k, D]`` with centroid 0 fixed at zero (D^2 sampling for the rest)."""
    centroids = torch.zeros(k, vectors.shape[1], dtype=torch.float32)
    closest = vectors.pow(2).sum(dim=1)
    for i in range(1, k):
        total = closest.sum()
        if total <= 0:  # every vector is already a centroid: repeat random ones
            pick = int(torch.randint(vectors.shape[0], (1,), generator=generator))
        else:
            pick = int(torch.multinomial(closest / total, 1, generator=generator))
        centroids[i] = vectors[pick]
        closest = torch.minimum(closest, (vectors - centroids[i]).pow(2).sum(dim=1))
    return centroids


def _assign(vectors: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid and its squared distance for each vector."""
    index = nearest(vectors, centroids)
    return index, (vectors - centroids[index]).pow(2).sum(dim=1)


def lloyd(
    vectors: torch.Tensor,
    centroids: torch.Tensor,
    iterations: int,
    on_iteration: Callable[[int, float], None] | None = None,
) -> torch.Tensor:
    """Lloyd iterations from ``centroids [K, D]``; centroid 0 stays zero, empty ones are reseeded.

    An empty cluster takes the vector with the largest current error, so no code is wasted.
    ``on_iteration(i, mean_squared_error)`` reports progress.
    """
    centroids = centroids.clone()
    k, dim = centroids.shape
    for it in range(iterations):
        index, error = _assign(vectors, centroids)
        sums = torch.zeros(k, dim).index_add_(0, index, vectors)
        counts = torch.bincount(index, minlength=k)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        empty = (~filled).nonzero().flatten()
        empty = empty[empty != 0]
        if len(empty):
            worst = error.topk(min(len(empty), len(error))).indices
            centroids[empty[: len(worst)]] = vectors[worst]
        centroids[0] = 0.0
        if on_iteration is not None:
            on_iteration(it, float(error.mean()))
    return centroids


def fit_stage(
    residual: torch.Tensor,
    k: int,
    iterations: int,
    init_size: int,
    generator: torch.Generator,
    on_iteration: Callable[[int, float], None] | None = None,
) -> torch.Tensor:
    """Fit one codebook ``[k, D]`` to ``residual [N, D]``: k-means++ on a subset, then Lloyd."""
    subset = torch.randperm(residual.shape[0], generator=generator)[:init_size]
    centroids = kmeans_plus_plus(residual[subset], k, generator)
    return lloyd(residual, centroids, iterations, on_iteration)
