"""Song-level statistics of per-clip metrics: bootstrap CIs over songs and paired tests.

Clips of one song are correlated, so songs are the unit, as for FAD (``benchmark.fad``): each
song's clips are averaged first, and the bootstrap resamples songs with replacement (seeded).
Paired comparisons use the songs both systems were scored on: the per-song difference of means,
its bootstrap percentile CI, and a Wilcoxon signed-rank test (Pratt's handling of zero
differences, two-sided) on those differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class SongMean:
    """Mean over songs of per-song means, with a percentile bootstrap CI over songs."""

    mean: float
    ci_low: float
    ci_high: float
    n_songs: int
    n_clips: int


@dataclass(frozen=True)
class PairedDiff:
    """Mean over songs of (A - B), its bootstrap CI, the bootstrap and Wilcoxon p-values."""

    diff: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_wilcoxon: float
    n_songs: int

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def song_means(values: pd.Series, songs: pd.Series) -> pd.Series:
    """Per-song mean of per-clip ``values`` (NaN clips ignored), indexed by song."""
    return values.groupby(songs.values).mean().dropna()


def _boot_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_resamples, len(x)))
    return x[idx].mean(axis=1)


def song_mean_ci(values: pd.Series, songs: pd.Series, *, n_resamples: int = 1000, seed: int = 0,
                 confidence: float = 0.95) -> SongMean:
    """Mean over songs of ``values [clips]`` grouped by ``songs [clips]``, with its song-bootstrap CI."""
    per_song = song_means(values, songs).to_numpy()
    if len(per_song) == 0:
        return SongMean(np.nan, np.nan, np.nan, 0, 0)
    boot = _boot_means(per_song, n_resamples, seed)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return SongMean(float(per_song.mean()), float(lo), float(hi), len(per_song), int(values.notna().sum()))


def paired_difference(a: pd.Series, b: pd.Series, *, n_resamples: int = 1000, seed: int = 0,
                      confidence: float = 0.95) -> PairedDiff:
    """A - B over the songs in both (``a``, ``b``: per-song means indexed by song)."""
    common = a.index.intersection(b.index)
    d = (a.loc[common] - b.loc[common]).to_numpy(dtype=float)
    if len(d) < 2:
        return PairedDiff(np.nan, np.nan, np.nan, np.nan, np.nan, len(d))
    boot = _boot_means(d, n_resamples, seed)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    centred = boot - boot.mean()
    p_boot = float(min(1.0, (np.sum(np.abs(centred) >= abs(d.mean())) + 1) / (n_resamples + 1)))
    p_wil = float(stats.wilcoxon(d, zero_method="pratt").pvalue) if np.any(d != 0) else 1.0
    return PairedDiff(float(d.mean()), float(lo), float(hi), p_boot, p_wil, len(d))
