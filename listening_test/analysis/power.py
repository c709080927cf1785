"""How many raters an effect needs: normal approximation with a design effect for clustering.

Preference (the rater-clustered test of ``preference.cluster_robust_p``): with ``m`` judgments
per rater, ``G`` raters and within-rater correlation ``rho`` of the binary choice, the pooled
rate has variance ``p(1-p) * DEFF / (G m)`` with Kish's design effect ``DEFF = 1 + (m-1) rho``.
The test statistic is then approximately noncentral t with ``G-1`` degrees of freedom and
noncentrality ``(p - 1/2) / sqrt(var)``: the t (not z) keeps the prediction honest for the
10-40 raters of a typical study.

Ratings (Wilcoxon signed-rank on per-rater mean differences): with standardised effect
``d = mean / sd`` of the per-rater differences, the signed-rank test has asymptotic relative
efficiency 3/pi against the t test under normality, so it behaves like a t test on
``G * 3/pi`` raters: noncentral t with noncentrality ``d sqrt(G 3/pi)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

WILCOXON_ARE = 3 / math.pi
MAX_RATERS = 100_000


def design_effect(judgments_per_rater: float, icc: float) -> float:
    """Kish's design effect ``1 + (m - 1) rho`` (dimensionless, >= 1 for rho >= 0)."""
    return 1 + (judgments_per_rater - 1) * icc


def binary_icc(successes: np.ndarray, trials: np.ndarray) -> float:
    """One-way ANOVA estimate of the within-rater correlation of a 0/1 outcome, clipped at 0.

    ``successes``/``trials``: per-rater counts ``[G]`` (unequal sizes handled through n0).
    """
    w = np.asarray(successes, float)
    n = np.asarray(trials, float)
    groups, total = len(n), n.sum()
    if groups < 2 or total <= groups:
        return float("nan")
    p_r, p = w / n, w.sum() / total
    msb = np.sum(n * (p_r - p) ** 2) / (groups - 1)
    msw = np.sum(n * p_r * (1 - p_r)) / (total - groups)
    n0 = (total - np.sum(n**2) / total) / (groups - 1)
    denom = msb + (n0 - 1) * msw
    return float(max(0.0, (msb - msw) / denom)) if denom > 0 else 0.0


def _t_power(noncentrality: float, df: float, alpha: float) -> float:
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, noncentrality) + stats.nct.cdf(-crit, df, noncentrality))


def preference_power(rate: float, raters: int, judgments_per_rater: float, icc: float, alpha: float = 0.05) -> float:
    """Predicted power of the clustered preference test against 50% (two-sided)."""
    if raters < 2:
        return float("nan")
    var = rate * (1 - rate) * design_effect(judgments_per_rater, icc) / (raters * judgments_per_rater)
    return _t_power((rate - 0.5) / math.sqrt(var), raters - 1, alpha)


def rating_power(effect_size: float, raters: int, alpha: float = 0.05) -> float:
    """Predicted power of the paired Wilcoxon test for standardised effect ``d`` (mean/sd)."""
    if raters < 2:
        return float("nan")
    return _t_power(effect_size * math.sqrt(raters * WILCOXON_ARE), raters - 1, alpha)


def _smallest_raters(power_of, target: float) -> int | None:
    """Smallest G >= 2 with ``power_of(G) >= target`` (power rises with G), by bisection."""
    low, high = 2, 2
    while power_of(high) < target:
        if high >= MAX_RATERS:
            return None
        low, high = high, min(high * 2, MAX_RATERS)
    while low < high:
        mid = (low + high) // 2
        if power_of(mid) >= target:
            high = mid
        else:
            low = mid + 1
    return high


def raters_for_preference(rate: float, judgments_per_rater: float, icc: float,
                          power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Raters needed to detect preference ``rate`` vs 50%; None if beyond ``MAX_RATERS``."""
    if rate == 0.5:
        return None
    return _smallest_raters(lambda g: preference_power(rate, g, judgments_per_rater, icc, alpha), power)


def raters_for_rating(effect_size: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Raters needed for a paired rating difference of standardised size ``effect_size``."""
    if effect_size == 0:
        return None
    return _smallest_raters(lambda g: rating_power(effect_size, g, alpha), power)
