"""How predictable a codec's tokens are: what a language model over them can hope to learn.

Per codebook, over token sequences ``[T]`` (one per file):

* repeat rate: share of frames whose code equals the previous frame's;
* unigram and bigram cross-entropy (nats per token) of held-out files, with add-``alpha``
  smoothing, cross-fitted in two folds (files with even index fit the model that scores the odd
  ones, and back), so no file scores a model fitted on itself.

A bigram far below the unigram means the codes have temporal structure a small LM can use; a
bigram at or above the unigram means the codes are noise to it (the MDCT codes' codebooks 3-8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHA = 0.1  # add-alpha smoothing of unigram and bigram counts


def repeat_rate(sequences: Sequence[np.ndarray]) -> float:
    """Share of consecutive frame pairs with the same code, over all ``sequences [T]``."""
    same = sum(int((s[1:] == s[:-1]).sum()) for s in sequences)
    pairs = sum(max(0, len(s) - 1) for s in sequences)
    return same / pairs if pairs else float("nan")


def _unigram_ce(fit: Sequence[np.ndarray], score: Sequence[np.ndarray], vocab: int, alpha: float) -> tuple[float, int]:
    counts = np.full(vocab, alpha)
    for s in fit:
        counts += np.bincount(s, minlength=vocab)
    logp = np.log(counts / counts.sum())
    tokens = np.concatenate(score) if score else np.zeros(0, dtype=np.int64)
    return float(-logp[tokens].sum()), len(tokens)


def _bigram_ce(fit: Sequence[np.ndarray], score: Sequence[np.ndarray], vocab: int, alpha: float) -> tuple[float, int]:
    counts = np.full((vocab, vocab), alpha)
    for s in fit:
        np.add.at(counts, (s[:-1], s[1:]), 1.0)
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    total, n = 0.0, 0
    for s in score:
        total -= float(logp[s[:-1], s[1:]].sum())
        n += max(0, len(s) - 1)
    return total, n


def cross_fitted(fn, sequences: Sequence[np.ndarray], vocab: int, alpha: float = ALPHA) -> float:
    """Two-fold cross-fitted cross-entropy (nats/token) of ``fn`` (``_unigram_ce`` / ``_bigram_ce``)."""
    even, odd = list(sequences[0::2]), list(sequences[1::2])
    if not even or not odd:
        raise ValueError("need at least two sequences to cross-fit")
    a_total, a_n = fn(even, odd, vocab, alpha)
    b_total, b_n = fn(odd, even, vocab, alpha)
    return (a_total + b_total) / max(1, a_n + b_n)


def predictability(codes: Sequence[np.ndarray], vocab: int, alpha: float = ALPHA) -> list[dict]:
    """Rows ``{codebook (1-based), repeat_rate, unigram_ce, bigram_ce}`` for files' ``codes [K, T]``."""
    n_codebooks = codes[0].shape[0]
    rows = []
    for k in range(n_codebooks):
        seqs = [np.asarray(c[k], dtype=np.int64) for c in codes]
        rows.append({
            "codebook": k + 1,
            "repeat_rate": repeat_rate(seqs),
            "unigram_ce": cross_fitted(_unigram_ce, seqs, vocab, alpha),
            "bigram_ce": cross_fitted(_bigram_ce, seqs, vocab, alpha),
        })
    return rows
