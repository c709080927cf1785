"""Fréchet Audio Distance over songs: point value, bootstrap CI, per-song FAD, FAD-infinity, paired
bootstrap of the difference between two systems, and the reference set's split-half floor.

Embeddings come as frames ``[n_frames, d]`` grouped by song (a ``Mapping[str, array]`` or a
sequence of arrays). The bootstrap resamples *songs* with replacement (frames of one song are
correlated, so resampling frames would give CIs that are too narrow), with a seeded
``np.random.Generator``. The reference statistics are fixed: the CI covers the sampling of the
evaluated songs; ``reference_floor`` shows how far two halves of the reference itself are apart.

FAD is biased upwards at finite n (~1/n, see ``fad_inf``), and a resample with duplicated songs
holds fewer distinct frames, so resampled FADs sit above the point value: with 50 songs x 15
frames at d = 200 (Gaussian test data) their mean was 44% above it and the plain percentile
interval excluded it. The interval reported is therefore the *centred* one,
``[value - (q_hi - m), value + (m - q_lo)]`` (m: mean of the resampled values; q: their
percentiles; the lower end clamped at 0): the song-sampling spread of FAD at this set size,
around the value. The bootstrap's bias estimate ``m - value`` is reported as ``bias``;
``fad_inf`` extrapolates the bias away.

Speed: per-song sufficient statistics are computed once, in the reference's square-root basis
(``Reference.project``). With at least ``d`` frames in all, one resample costs a weighted sum of
``G`` scatter matrices ``[d, d]`` and one ``eigvalsh`` (memory ``8 G d^2`` bytes). With fewer
frames than dimensions (the usual case for 10 s clips and 753-d musicnn frames) every resampled
covariance is singular and its trace term is the nuclear norm of the drawn projected frames
``[m, d]``; the Gram matrix of all projected frames ``[N, N]`` is computed once, so a resample
costs one ``eigvalsh`` of an ``[m, m]`` block of it (the squared singular values), with the same
error estimate and SVD fallback as the fast route (``Reference.trace_sqrt``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from hafm.frechet import (BOOTSTRAP_RTOL, FAST_RTOL, FrechetInputError, Reference, frechet_distance,
                         gaussian_stats, prepare_reference, validate_frames, warn_if_few_frames)

Groups = Mapping[str, np.ndarray] | Sequence[np.ndarray]
# The frame Gram matrix [N, N] (float64) is kept up to this many frames (128 MiB); beyond it a
# resample with fewer drawn frames than dimensions takes an [m, d] SVD instead.
GRAM_MAX_FRAMES = 4096
RngLike = np.random.Generator | int


@dataclass(frozen=True)
class Result:
    """FAD with a centred bootstrap CI over songs. n: songs; n_frames: frames over all songs;
    bias: mean resampled FAD minus value (finite-sample bias estimate)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    n_frames: int = 0
    n_resamples: int = 0
    confidence: float = 0.95
    bias: float = 0.0


@dataclass(frozen=True)
class PairedResult:
    """FAD(A) - FAD(B) over the same songs, with a centred paired bootstrap CI (negative: A is closer).

    p_two_sided: share of centred resampled differences at least as far from 0 as ``diff``
    (bootstrap test of "no difference"); bias: mean resampled difference minus ``diff``.
    """

    diff: float
    ci_low: float
    ci_high: float
    fad_a: float
    fad_b: float
    p_two_sided: float
    n: int
    n_resamples: int
    confidence: float = 0.95
    bias: float = 0.0

    @property
    def significant(self) -> bool:
        """True when the CI excludes 0."""
        return self.ci_high < 0.0 or self.ci_low > 0.0


@dataclass(frozen=True)
class FadInfResult:
    """FAD extrapolated to infinitely many frames: FAD(n) ~ value + slope / n, fitted by least squares."""

    value: float
    slope: float
    r2: float
    sizes: tuple[int, ...]
    fads: tuple[float, ...]


@dataclass(frozen=True)
class SongStats:
    """Per-song sufficient statistics of frames centred at ``origin``.

    counts [G]; sums [G, d] of (x - origin); sq_norms [G] of |x - origin|^2;
    projected [N, d]: y = reference.project(x - origin) of every frame, song_of_frame [N];
    scatters [G, d, d] of y y^T (None when N < d: no resample can use them);
    gram [N, N] = projected projected^T (None when N > ``GRAM_MAX_FRAMES``).
    """

    names: tuple[str, ...]
    counts: np.ndarray
    sums: np.ndarray
    sq_norms: np.ndarray
    origin: np.ndarray
    projected: np.ndarray
    song_of_frame: np.ndarray
    scatters: np.ndarray | None
    gram: np.ndarray | None

    def fad(self, reference: Reference, weights: np.ndarray, rtol: float = FAST_RTOL) -> float:
        """FAD of the songs taken ``weights[g]`` times each (bootstrap counts; all ones = the set),
        exact to about ``rtol`` relative (``BOOTSTRAP_RTOL`` for resamples, see hafm.frechet)."""
        n = float(weights @ self.counts)
        if n < 2:
            raise FrechetInputError("a covariance needs at least 2 frames in the (resampled) set")
        mean_c = (weights @ self.sums) / n
        my = reference.project(mean_c)
        trace_eval = (float(weights @ self.sq_norms) - n * float(mean_c @ mean_c)) / (n - 1)
        mean_sq = float(np.sum((self.origin + mean_c - reference.mu) ** 2))
        if self.counts[weights > 0].sum() < reference.dim:  # rank < d: the [d, d] route cannot be exact
            trace_sqrt = self._low_rank_trace_sqrt(reference, weights, my, rtol)
        else:
            scatter = np.tensordot(weights, self.scatters, axes=1)
            inner = (scatter - n * np.outer(my, my)) / (n - 1)
            trace_sqrt = reference.trace_sqrt(inner, lambda: self.projected_factor(weights, my), rtol)
        return reference.distance_from_parts(mean_sq, trace_eval, trace_sqrt)

    def _low_rank_trace_sqrt(self, reference: Reference, weights: np.ndarray, my: np.ndarray,
                             rtol: float) -> float:
        """tr sqrt(S1^1/2 S2 S1^1/2) when the m drawn frames are fewer than d: the eigenvalues of the
        factor's [m, m] Gram matrix ``Y Y^T`` (``Y = projected_factor``), taken from ``gram``."""
        factor = partial(self.projected_factor, weights, my)
        if self.gram is None:
            return reference.trace_sqrt_of_factor(factor())
        w = weights[self.song_of_frame]
        drawn = np.flatnonzero(w > 0)
        n = float(w.sum())
        gram_w = self.gram @ w                           # [N]: n (y_i . mean y)
        p_dot_mean = gram_w[drawn] / n                    # y_i . mean y
        mean_sq = float(w @ gram_w) / n**2                # |mean y|^2
        centred = self.gram[np.ix_(drawn, drawn)] - p_dot_mean[:, None] - p_dot_mean[None, :] + mean_sq
        scale = np.sqrt(w[drawn] / (n - 1))
        return reference.trace_sqrt(scale[:, None] * centred * scale[None, :], factor, rtol)

    def projected_factor(self, weights: np.ndarray, projected_mean: np.ndarray) -> np.ndarray:
        """``project(F)`` [m, d] for the factor F of the resampled covariance (ddof=1) made of its
        m drawn frames: row i is sqrt(w_i / (n - 1)) (y_i - mean y). An [m, d] SVD replaces two
        [d, d] decompositions, and m < d exactly where the exact route is needed."""
        w = weights[self.song_of_frame]
        drawn = w > 0
        n = float(w.sum())
        return np.sqrt(w[drawn] / (n - 1))[:, None] * (self.projected[drawn] - projected_mean)


def as_reference(reference: Reference | np.ndarray | Groups) -> Reference:
    """A prepared Reference from frames [N, d], songs (Groups) or an existing Reference."""
    if isinstance(reference, Reference):
        return reference
    frames = reference if isinstance(reference, np.ndarray) else _concat(_named(reference)[1], "reference")
    mu, sigma = gaussian_stats(frames, "reference")
    return prepare_reference(mu, sigma, n_frames=frames.shape[0])


def song_stats(reference: Reference, songs: Groups, what: str = "eval") -> SongStats:
    """Validate songs and compute their sufficient statistics in ``reference``'s basis."""
    names, arrays = _named(songs)
    frames = [_song_frames(a, f"{what} song {name!r}", reference.dim) for name, a in zip(names, arrays, strict=True)]
    origin = np.concatenate(frames).mean(axis=0)  # centring keeps the one-pass covariance exact
    centred = [f - origin for f in frames]
    projected = [reference.project(c) for c in centred]
    all_projected = np.concatenate(projected)
    n_frames = all_projected.shape[0]
    return SongStats(
        names=tuple(names),
        counts=np.array([len(c) for c in centred], dtype=np.float64),
        sums=np.stack([c.sum(axis=0) for c in centred]),
        sq_norms=np.array([float(np.sum(c * c)) for c in centred]),
        origin=origin,
        projected=all_projected,
        song_of_frame=np.repeat(np.arange(len(centred)), [len(c) for c in centred]),
        scatters=np.stack([p.T @ p for p in projected]) if n_frames >= reference.dim else None,
        gram=all_projected @ all_projected.T if n_frames <= GRAM_MAX_FRAMES else None,
    )


def fad(reference_embeddings: Reference | np.ndarray | Groups, eval_embeddings: Groups, *,
        n_resamples: int = 1000, confidence: float = 0.95, rng: RngLike = 0) -> Result:
    """FAD of the eval songs against the reference, with a bootstrap CI over songs.

    reference_embeddings: frames [N, d], songs, or a Reference (prepare it once for many calls).
    eval_embeddings: songs, each frames [n_i, d]. rng: seed or Generator (deterministic per seed).
    """
    ref = as_reference(reference_embeddings)
    stats = song_stats(ref, eval_embeddings)
    _check_bootstrap_args(len(stats.names), n_resamples, confidence)
    gen = np.random.default_rng(rng)
    boot = np.array([stats.fad(ref, w, BOOTSTRAP_RTOL) for w in _resample_counts(gen, len(stats.names), n_resamples)])
    value = stats.fad(ref, np.ones(len(stats.names)))
    low, high = _centred_ci(value, boot, confidence)
    low = max(low, 0.0)  # a distance: the centred interval can cross 0 with few songs
    total = int(stats.counts.sum())
    warn_if_few_frames(total, ref.dim, "eval")
    return Result(value=value, ci_low=low, ci_high=high, n=len(stats.names), n_frames=total,
                  n_resamples=n_resamples, confidence=confidence, bias=float(boot.mean() - value))


def per_song_fad(reference_embeddings: Reference | np.ndarray | Groups, eval_embeddings: Groups) -> dict[str, float]:
    """FAD of each song's frames alone against the reference (fadtk's ``score_individual``).

    With fewer frames than dimensions per song these values carry a large small-sample bias:
    compare them across systems for the same song, not across songs.
    """
    ref = as_reference(reference_embeddings)
    stats = song_stats(ref, eval_embeddings)
    eye = np.eye(len(stats.names))
    return {name: stats.fad(ref, eye[g]) for g, name in enumerate(stats.names)}


def paired_fad_difference(reference_embeddings: Reference | np.ndarray | Groups, eval_a: Groups, eval_b: Groups,
                          *, n_resamples: int = 1000, confidence: float = 0.95,
                          rng: RngLike = 0) -> PairedResult:
    """FAD(A) - FAD(B) with a paired bootstrap: each resample draws the same songs for A and B.

    A and B must cover the same songs: mappings with the same keys (matched by key) or sequences
    of the same length (matched by position).
    """
    ref = as_reference(reference_embeddings)
    a, b = _paired_songs(eval_a, eval_b)
    stats_a, stats_b = song_stats(ref, a, "system A"), song_stats(ref, b, "system B")
    g = len(stats_a.names)
    _check_bootstrap_args(g, n_resamples, confidence)
    gen = np.random.default_rng(rng)
    diffs = np.array([stats_a.fad(ref, w, BOOTSTRAP_RTOL) - stats_b.fad(ref, w, BOOTSTRAP_RTOL)
                      for w in _resample_counts(gen, g, n_resamples)])
    ones = np.ones(g)
    fad_a, fad_b = stats_a.fad(ref, ones), stats_b.fad(ref, ones)
    diff = fad_a - fad_b
    low, high = _centred_ci(diff, diffs, confidence)
    centred = diffs - diffs.mean()
    p = float(np.mean(np.abs(centred) >= abs(diff))) if diff != 0 else 1.0
    return PairedResult(diff=diff, ci_low=low, ci_high=high, fad_a=fad_a, fad_b=fad_b, p_two_sided=p, n=g,
                        n_resamples=n_resamples, confidence=confidence, bias=float(diffs.mean() - diff))


def fad_inf(reference_embeddings: Reference | np.ndarray | Groups, eval_embeddings: np.ndarray | Groups, *,
            n_points: int = 15, min_frames: int | None = None, rng: RngLike = 0) -> FadInfResult:
    """FAD-infinity (Chung et al. / fadtk ``score_inf``): FAD of ``n`` frames drawn with replacement
    for ``n_points`` sizes from ``min_frames`` to all N frames, a line fitted against 1/n, its intercept.

    min_frames defaults to max(d + 1, N // 5): the 1/n law holds only well above d frames.
    """
    ref = as_reference(reference_embeddings)
    frames = eval_embeddings if isinstance(eval_embeddings, np.ndarray) else _concat(_named(eval_embeddings)[1], "eval")
    frames = validate_frames(frames, "eval")
    total = frames.shape[0]
    low = max(ref.dim + 1, total // 5) if min_frames is None else int(min_frames)
    if not 2 <= low < total or n_points < 3:
        raise FrechetInputError(f"FAD-inf needs 2 <= min_frames < N frames and >= 3 sizes; got "
                                f"min_frames={low}, N={total}, n_points={n_points}")
    sizes = np.unique(np.linspace(low, total, n_points).astype(int))
    gen = np.random.default_rng(rng)
    fads = np.array([_fad_of_rows(ref, frames[gen.integers(0, total, size=n)]) for n in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, fads, 1)
    fitted = intercept + slope / sizes
    ss_tot = float(np.sum((fads - fads.mean()) ** 2))
    r2 = 1.0 - float(np.sum((fads - fitted) ** 2)) / ss_tot if ss_tot > 0 else 1.0
    return FadInfResult(value=float(intercept), slope=float(slope), r2=r2,
                        sizes=tuple(int(s) for s in sizes), fads=tuple(float(f) for f in fads))


def reference_floor(reference_songs: Groups, *, n_splits: int = 20, confidence: float = 0.95,
                    rng: RngLike = 0) -> Result:
    """Split-half FAD of the reference set: songs split at random into two halves, FD between them.

    value: mean over ``n_splits`` random splits; ci: percentiles of the split values. Each half
    has half the frames, so this floor is biased upwards relative to a full-set comparison.
    """
    names, arrays = _named(reference_songs)
    if len(names) < 4:
        raise FrechetInputError(f"a split-half floor needs at least 4 reference songs, got {len(names)}")
    songs = [validate_frames(a, f"reference song {n!r}") for n, a in zip(names, arrays, strict=True)]
    gen = np.random.default_rng(rng)
    values = []
    for _ in range(n_splits):
        order = gen.permutation(len(songs))
        half = len(songs) // 2
        first = _concat([songs[i] for i in order[:half]], "reference half")
        second = _concat([songs[i] for i in order[half:]], "reference half")
        values.append(frechet_distance(*gaussian_stats(first, "reference half"),
                                       *gaussian_stats(second, "reference half")))
    low, high = _percentile_ci(np.array(values), confidence)
    return Result(value=float(np.mean(values)), ci_low=low, ci_high=high, n=len(songs),
                  n_frames=sum(len(s) for s in songs), n_resamples=n_splits, confidence=confidence)


def _fad_of_rows(ref: Reference, rows: np.ndarray) -> float:
    mu = rows.mean(axis=0)
    return ref.distance(mu, np.atleast_2d(np.cov(rows, rowvar=False)))


def _resample_counts(gen: np.random.Generator, n_songs: int, n_resamples: int):
    """Yield, per resample, how many times each song was drawn (n_songs draws with replacement)."""
    for _ in range(n_resamples):
        yield np.bincount(gen.integers(0, n_songs, size=n_songs), minlength=n_songs).astype(np.float64)


def _centred_ci(value: float, boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """``[value - (q_hi - m), value + (m - q_lo)]``: the resampled spread around ``value`` (see module doc)."""
    q_lo, q_hi = _percentile_ci(boot, confidence)
    m = float(boot.mean())
    return value - (q_hi - m), value + (m - q_lo)


def _percentile_ci(values: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_bootstrap_args(n_songs: int, n_resamples: int, confidence: float) -> None:
    if n_songs < 2:
        raise FrechetInputError(f"a bootstrap over songs needs at least 2 songs, got {n_songs}")
    if n_resamples < 1:
        raise FrechetInputError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise FrechetInputError(f"confidence must be in (0, 1), got {confidence}")


def _named(songs: Groups) -> tuple[list[str], list[np.ndarray]]:
    if isinstance(songs, np.ndarray):
        raise FrechetInputError("songs must be grouped: a mapping name -> [n_frames, d] or a list of arrays, "
                                f"got a single array of shape {songs.shape}")
    if isinstance(songs, Mapping):
        names, arrays = [str(k) for k in songs], list(songs.values())
    else:
        arrays = list(songs)
        names = [str(i) for i in range(len(arrays))]
    if not arrays:
        raise FrechetInputError("no songs given")
    return names, arrays


def _song_frames(frames: np.ndarray, what: str, dim: int) -> np.ndarray:
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != dim:
        raise FrechetInputError(f"{what}: expected frames [n_frames >= 1, {dim}], got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise FrechetInputError(f"{what}: embeddings contain NaN or inf")
    return x


def _concat(arrays: Sequence[np.ndarray], what: str) -> np.ndarray:
    shapes = {np.shape(a)[1:] for a in arrays}
    if len(shapes) != 1:
        raise FrechetInputError(f"{what}: songs have different embedding shapes {sorted(shapes)}")
    return np.concatenate([np.asarray(a, dtype=np.float64) for a in arrays])


def _paired_songs(a: Groups, b: Groups) -> tuple[Groups, Groups]:
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise FrechetInputError("pair systems with the same container type: both mappings or both sequences")
    if isinstance(a, Mapping):
        if set(a) != set(b):
            missing = sorted(set(a) ^ set(b), key=str)[:5]
            raise FrechetInputError(f"systems A and B cover different songs (e.g. {missing})")
        return a, {k: b[k] for k in a}
    if len(a) != len(b):
        raise FrechetInputError(f"systems A and B have {len(a)} and {len(b)} songs; pairing needs the same songs")
    return a, b
