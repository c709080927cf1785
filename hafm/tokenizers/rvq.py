"""Residual vector quantisation with k-means codebooks whose centroid 0 is the zero vector.

Each stage quantises the residual left by the stages before it. Because centroid 0 of every stage
is zero, choosing it leaves the residual unchanged, and the encoder picks it whenever no other
centroid lowers the error, so the squared error of every vector can only go down as stages are
added: decoding with more codebooks is never worse on any frame, by construction.

Encoding and decoding live here; fitting the codebooks (k-means++ and Lloyd) in
``hafm.tokenizers.fitting.rvq``.

Shapes: vectors ``[N, D]``, one codebook ``[K, D]``, all codebooks ``[S, K, D]``, codes ``[N, S]``.
"""

from __future__ import annotations

import torch

CHUNK = 4096  # vectors per distance block: a [4096, 1024] float32 block is 16 MB


def nearest(vectors: torch.Tensor, codebook: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """Index ``[N]`` of the nearest centroid (squared L2) of ``codebook [K, D]`` for each vector.

    Centroid 0 must be zero; a vector is mapped to 0 unless another centroid really lowers its error
    (checked on the residual itself, so float rounding in the distance expansion cannot make a
    stage increase the error).
    """
    sq_norms = codebook.pow(2).sum(dim=1)
    out = torch.empty(vectors.shape[0], dtype=torch.int64)
    for start in range(0, vectors.shape[0], chunk):
        block = vectors[start : start + chunk]
        scores = torch.addmm(sq_norms, block, codebook.T, beta=1.0, alpha=-2.0)
        index = scores.argmin(dim=1)
        worse = (block - codebook[index]).pow(2).sum(dim=1) >= block.pow(2).sum(dim=1)
        out[start : start + chunk] = index.masked_fill(worse, 0)
    return out


def encode(vectors: torch.Tensor, codebooks: torch.Tensor) -> torch.Tensor:
    """``vectors [N, D]`` -> ``codes [N, S]`` (int64), stage by stage on the running residual."""
    residual = vectors.to(torch.float32).clone()
    codes = torch.empty(vectors.shape[0], codebooks.shape[0], dtype=torch.int64)
    for stage, codebook in enumerate(codebooks):
        index = nearest(residual, codebook)
        codes[:, stage] = index
        residual -= codebook[index]
    return codes


def decode(codes: torch.Tensor, codebooks: torch.Tensor) -> torch.Tensor:
    """``codes [N, k]`` (first k stages, 1 <= k <= S) -> reconstruction ``[N, D]``: sum of centroids."""
    k = codes.shape[1]
    if not 1 <= k <= codebooks.shape[0]:
        raise ValueError(f"need 1..{codebooks.shape[0]} codebooks, got {k}")
    out = torch.zeros(codes.shape[0], codebooks.shape[2], dtype=torch.float32, device=codebooks.device)
    for stage in range(k):
        out += codebooks[stage][codes[:, stage]]
    return out
