"""Ratings of each question (built-in study: rhythm, harmony, coherence on 1-5): per-rater means,
paired tests, effect sizes. ``attributes`` is the question ids the export rates.

Raters are the unit of analysis: each rater's ratings of a system are averaged first (one value
per rater, system and attribute), so the tests below are across raters and stay valid however
many trials each rater answered. Zero differences are kept with Pratt's method
(``zero_method='pratt'``: zeros take part in the ranking, then their ranks are dropped), because
short rating scales give many ties and the default ``'wilcox'`` discards them before ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from listening_test.analysis.config import order_systems
from listening_test.analysis.schema import ATTRIBUTES, SIDES, AnalysisError

ZERO_METHOD = "pratt"
MIN_RATERS = 2  # raters who rated every compared system; below this a test is not run (p = NaN)


def long_ratings(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """One row per (trial, side) of the non-catch trials: rater, item, system, and each attribute."""
    trials = df[df["is_catch"] == 0]
    parts = []
    for side in SIDES:
        s = side.lower()
        part = trials[["rater", "item", f"system_{s}"] + [f"{a}_{s}" for a in attributes]].copy()
        part.columns = ["rater", "item", "system", *attributes]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def rater_means(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """Mean rating per rater and system: index (rater, system), one column per attribute."""
    return long_ratings(df, attributes).groupby(["rater", "system"])[list(attributes)].mean()


@dataclass(frozen=True)
class MeanRating:
    system: str
    attribute: str
    mean: float  # mean over raters of each rater's mean rating (the question's scale)
    ci_low: float  # Student t interval across raters
    ci_high: float
    raters: int
    ratings: int  # number of individual ratings behind the mean


def mean_with_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-based CI of independent values (here: one value per rater)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, df=len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def mean_ratings(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> list[MeanRating]:
    """Per attribute and system: mean of rater means with a 95% CI."""
    long = long_ratings(df, attributes)
    means = long.groupby(["rater", "system"])[list(attributes)].mean()
    counts = long.groupby("system").size()
    out = []
    for system in order_systems(long["system"].unique().tolist()):
        per_rater = means.xs(system, level="system")
        for attr in attributes:
            mean, low, high = mean_with_ci(per_rater[attr].to_numpy())
            out.append(MeanRating(system, attr, mean, low, high, len(per_rater), int(counts[system])))
    return out


def rank_biserial(diff: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (Kerby's simple difference), in [-1, 1].

    ``(R+ - R-) / (n(n+1)/2)`` where ranks of |d| include the zero differences (Pratt), whose
    ranks count on neither side: ties at zero pull the effect towards 0.
    """
    diff = np.asarray(diff, dtype=float)
    if len(diff) == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(diff))
    total = len(diff) * (len(diff) + 1) / 2
    return float((ranks[diff > 0].sum() - ranks[diff < 0].sum()) / total)


@dataclass(frozen=True)
class PairedResult:
    attribute: str
    system_x: str
    system_y: str
    mean_difference: float  # mean over raters of (X - Y), rating points
    ci_low: float  # t interval of the mean difference across raters
    ci_high: float
    statistic: float  # Wilcoxon signed-rank statistic (scipy's, two-sided)
    p_value: float  # NaN when fewer than MIN_RATERS raters rated both systems
    rank_biserial: float  # > 0: X rated higher
    raters: int


def rater_table(means: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """Raters x systems table of rater means for one attribute (NaN where a rater never rated)."""
    return means[attribute].unstack("system")


def complete_raters(wide: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Columns ``systems`` of a rater table, keeping raters who rated all of them."""
    missing = [s for s in systems if s not in wide.columns]
    if missing:
        raise AnalysisError(f"no ratings for system(s) {missing}")
    return wide[systems].dropna()


def wilcoxon_p(diff: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired differences (Pratt zeros, scipy 'auto' method).

    scipy's 'auto' is exact without ties/zeros, an exact permutation test for n <= 13, and the
    normal approximation otherwise. All differences zero means no evidence: p = 1.
    """
    diff = np.asarray(diff, dtype=float)
    if len(diff) == 0 or np.all(diff == 0):
        return 0.0, 1.0
    res = stats.wilcoxon(diff, zero_method=ZERO_METHOD, method="auto")
    return float(res.statistic), float(res.pvalue)


def paired_comparison(wide: pd.DataFrame, attribute: str, system_x: str, system_y: str) -> PairedResult:
    """Wilcoxon signed-rank test of rater means of X vs Y (``wide``: ``rater_table`` of ``attribute``)."""
    pair = complete_raters(wide, [system_x, system_y])
    diff = (pair[system_x] - pair[system_y]).to_numpy()
    if len(diff) < MIN_RATERS:
        nan = float("nan")
        return PairedResult(attribute, system_x, system_y, nan, nan, nan, nan, nan, nan, len(diff))
    statistic, p_value = wilcoxon_p(diff)
    mean, low, high = mean_with_ci(diff)
    return PairedResult(attribute, system_x, system_y, mean, low, high, statistic, p_value,
                        rank_biserial(diff), len(diff))


@dataclass(frozen=True)
class FriedmanResult:
    attribute: str
    systems: tuple[str, ...]
    statistic: float  # chi-square with len(systems) - 1 degrees of freedom (tie-corrected)
    p_value: float  # NaN when fewer than MIN_RATERS raters rated every system
    kendall_w: float  # effect size: statistic / (raters * (k - 1))
    raters: int


def friedman(wide: pd.DataFrame, attribute: str, systems: list[str]) -> FriedmanResult:
    """Friedman test across >= 3 systems, raters as blocks (raters who rated every system).

    ``wide``: ``rater_table`` of ``attribute``.
    """
    if len(systems) < 3:
        raise AnalysisError("Friedman's test needs at least 3 systems")
    wide = complete_raters(wide, systems)
    if len(wide) < MIN_RATERS:
        return FriedmanResult(attribute, tuple(systems), float("nan"), float("nan"), float("nan"), len(wide))
    values = wide.to_numpy()
    if np.all(values == values[:, :1]):
        statistic, p_value = 0.0, 1.0  # every rater gave every system the same mean
    else:
        statistic, p_value = stats.friedmanchisquare(*values.T)
    kendall_w = float(statistic) / (len(wide) * (len(systems) - 1))
    return FriedmanResult(attribute, tuple(systems), float(statistic), float(p_value), kendall_w, len(wide))
