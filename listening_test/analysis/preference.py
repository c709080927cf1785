"""Forced-choice preference: rate, exact binomial test, Wilson CI, rater-clustered inference.

Each rater answers many trials, so judgments are not independent: a rater who likes system X
chooses it again and again. The exact binomial test and the Wilson CI assume independence and
are reported for comparison with papers; the headline p-value is a rater-clustered test (the
pooled rate with a cluster-robust CR1 standard error, Student t with G-1 degrees of freedom,
G = number of raters) and the headline CI a bootstrap over raters (expanded percentile). A GEE logistic
model (exchangeable working correlation within rater, side of X as covariate) gives a
position-adjusted estimate as a sensitivity analysis.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from listening_test.analysis.schema import AnalysisError


@dataclass(frozen=True)
class ProportionResult:
    """How often an event happened (X chosen; side A chosen) over ``n`` judgments by ``raters``."""

    successes: int
    n: int
    raters: int
    rate: float
    p_binomial: float  # exact two-sided binomial test vs 0.5 (independent judgments)
    wilson_low: float
    wilson_high: float
    p_clustered: float  # cluster-robust t test vs 0.5 (raters as clusters): the headline
    boot_low: float  # rater-clustered bootstrap CI (expanded percentile)
    boot_high: float


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927), by statsmodels'
    ``proportion_confint(method="wilson")``."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        raise ValueError("Wilson interval needs n > 0")
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def binomial_p(successes: int, n: int, p0: float = 0.5) -> float:
    """Exact two-sided binomial test (scipy's minlike rule)."""
    return float(stats.binomtest(int(successes), int(n), p=p0).pvalue)


def cluster_robust_p(successes: np.ndarray, trials: np.ndarray, p0: float = 0.5) -> float:
    """Two-sided test of the pooled rate against ``p0`` with raters as clusters.

    ``successes``/``trials``: per-rater counts ``[G]``. The pooled rate ``W/N`` has the CR1
    sandwich variance ``G/(G-1) * sum_r (w_r - rate n_r)^2 / N^2`` (equal to statsmodels'
    OLS-on-intercept with ``cov_type='cluster'``, checked by a test); the statistic is compared
    with t(G-1). Kept in closed form rather than calling that OLS: from the per-rater counts it is
    exact, while the OLS route expands them to judgments and its least-squares round-off turns the
    no-spread case (every rater at one rate) into a tiny non-zero standard error (p 0.29 instead of 1
    for every rater at 2/4).
    """
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    groups = len(trials)
    if groups < 2:
        return float("nan")
    total = trials.sum()
    rate = successes.sum() / total
    resid = successes - rate * trials
    var = groups / (groups - 1) * np.sum(resid**2) / total**2
    if var <= 0:
        return 1.0 if rate == p0 else 0.0
    t_stat = (rate - p0) / math.sqrt(var)
    return float(2 * stats.t.sf(abs(t_stat), df=groups - 1))


def cluster_bootstrap_rates(
    successes: np.ndarray, trials: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Pooled rates of ``n_boot`` resamples of raters with replacement: ``[n_boot]``.

    Vectorised: one multinomial draw gives how often each rater is picked in each resample.
    """
    groups = len(trials)
    picks = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=n_boot)
    return (picks @ np.asarray(successes, float)) / (picks @ np.asarray(trials, float))


def expanded_percentile_interval(values: np.ndarray, groups: int, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap ``values``, widened for ``groups`` resampled clusters.

    The plain percentile interval under-covers with few clusters (its spread is the
    ``(G-1)/G`` plug-in variance and uses normal quantiles). Hesterberg's expanded percentile
    interval (2015, "What teachers should know about the bootstrap", sec. 5) takes the
    percentiles at ``alpha'/2`` with ``z_{alpha'/2} = sqrt(G/(G-1)) t_{alpha/2, G-1}``.
    """
    tail = (1 - confidence) / 2
    if groups >= 2:
        z = math.sqrt(groups / (groups - 1)) * stats.t.ppf(1 - tail, df=groups - 1)
        tail = float(stats.norm.sf(z))
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def proportion_summary(
    events: pd.Series, raters: pd.Series, n_boot: int, rng: np.random.Generator
) -> ProportionResult:
    """All preference statistics of one binary outcome per judgment (``events`` in {0, 1})."""
    per_rater = pd.DataFrame({"w": events.astype(int).to_numpy(), "r": raters.to_numpy()}).groupby("r")["w"]
    wins = per_rater.sum().to_numpy(dtype=float)
    trials = per_rater.count().to_numpy(dtype=float)
    k, n = int(wins.sum()), int(trials.sum())
    if n == 0:
        raise AnalysisError("no judgments to summarise")
    low, high = wilson_interval(k, n)
    boot_low, boot_high = expanded_percentile_interval(
        cluster_bootstrap_rates(wins, trials, n_boot, rng), len(trials))
    return ProportionResult(
        successes=k, n=n, raters=len(trials), rate=k / n, p_binomial=binomial_p(k, n),
        wilson_low=low, wilson_high=high, p_clustered=cluster_robust_p(wins, trials),
        boot_low=boot_low, boot_high=boot_high,
    )


def pair_trials(df: pd.DataFrame, system_x: str, system_y: str) -> pd.DataFrame:
    """Non-catch trials comparing X with Y (either side), with ``chose_x`` and ``x_side`` (+-1/2)."""
    mask = (df["is_catch"] == 0) & (
        ((df["system_a"] == system_x) & (df["system_b"] == system_y))
        | ((df["system_a"] == system_y) & (df["system_b"] == system_x))
    )
    trials = df.loc[mask, ["rater", "item", "system_a", "preferred"]].copy()
    trials["chose_x"] = (trials["preferred"] == system_x).astype(int)
    # +1/2 when X is heard as A: the GEE intercept is then the preference at a balanced side.
    trials["x_side"] = np.where(trials["system_a"] == system_x, 0.5, -0.5)
    return trials


def preference(
    df: pd.DataFrame, system_x: str, system_y: str, n_boot: int, rng: np.random.Generator
) -> ProportionResult:
    """How often X is preferred over Y in the non-catch trials comparing them."""
    trials = pair_trials(df, system_x, system_y)
    if trials.empty:
        raise AnalysisError(f"no trial compares {system_x!r} with {system_y!r}")
    return proportion_summary(trials["chose_x"], trials["rater"], n_boot, rng)


def position_bias(df: pd.DataFrame, n_boot: int, rng: np.random.Generator) -> ProportionResult:
    """How often side A is chosen over all non-catch trials (0.5 = no position bias)."""
    trials = df[df["is_catch"] == 0]
    return proportion_summary((trials["preferred_side"] == "A").astype(int), trials["rater"], n_boot, rng)


@dataclass(frozen=True)
class GeeResult:
    """Logistic GEE ``chose_x ~ 1 + x_side``, exchangeable within rater.

    Standard errors: Mancl-DeRouen bias-reduced sandwich; p-values from t with G-1 degrees of
    freedom (statsmodels' default normal reference is liberal with a few dozen raters).
    ``note`` says why the fit is missing or fragile (then the numbers are NaN or to be doubted).
    """

    rate_at_balanced_side: float  # inverse-logit of the intercept
    p_preference: float  # Wald test of intercept = 0
    side_odds_ratio: float  # odds of choosing X when heard as A vs as B
    p_side: float
    working_correlation: float
    note: str = ""


GEE_MIN_RATERS = 3


def _unavailable(reason: str) -> GeeResult:
    nan = float("nan")
    return GeeResult(nan, nan, nan, nan, nan, note=f"GEE not fitted: {reason}")


def gee_preference(df: pd.DataFrame, system_x: str, system_y: str) -> GeeResult:
    """Position-adjusted preference for X over Y with rater-clustered GEE (statsmodels).

    A sensitivity analysis: when the data cannot support it (few raters, one judgment per rater,
    a singular bias correction) it returns NaNs and says why in ``note`` instead of stopping the
    whole report; statsmodels' warnings (e.g. perfect separation) are kept in ``note`` too.
    """
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.generalized_estimating_equations import GEE

    trials = pair_trials(df, system_x, system_y).sort_values("rater", kind="stable")
    sizes = trials.groupby("rater").size()
    if len(sizes) < GEE_MIN_RATERS or sizes.max() < 2 or trials["x_side"].nunique() < 2:
        return _unavailable(f"needs >= {GEE_MIN_RATERS} raters, one with >= 2 judgments, X heard on both sides")
    design = np.column_stack([np.ones(len(trials)), trials["x_side"].to_numpy()])
    model = GEE(
        trials["chose_x"].to_numpy(float), design, groups=pd.factorize(trials["rater"])[0],
        family=families.Binomial(), cov_struct=cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(cov_type="bias_reduced")
        except np.linalg.LinAlgError as err:
            return _unavailable(f"bias-reduced covariance is singular ({err}): a rater has leverage 1")
    params = np.asarray(fit.params)
    pvalues = 2 * stats.t.sf(np.abs(params / np.asarray(fit.bse)), df=len(sizes) - 1)
    messages = sorted({str(w.message).split(",")[0] for w in caught})
    return GeeResult(
        rate_at_balanced_side=float(1 / (1 + math.exp(-params[0]))),
        p_preference=float(pvalues[0]),
        side_odds_ratio=float(math.exp(params[1])),
        p_side=float(pvalues[1]),
        working_correlation=float(model.cov_struct.dep_params),
        note="; ".join(f"GEE: {m}" for m in messages),
    )
