"""One study's analysis: screening, every test in one Holm family, descriptives, agreement, power.

``run_tests`` is the part the calibration repeats 1,000 times; ``analyze_study`` adds what is
not a test (means, agreement, power note) for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from listening_test.analysis import agreement, power, preference, ratings
from listening_test.analysis.config import (
    PAPER_PREFERENCE,
    PAPER_RATINGS,
    AnalysisConfig,
    order_systems,
    parse_pair,
)
from listening_test.analysis.questions import RatingQuestion
from listening_test.analysis.schema import AnalysisError
from listening_test.analysis.screening import ScreeningReport, screen

TEST_COLUMNS = [
    "family", "system_x", "system_y", "attribute", "estimate", "estimate_kind", "ci_low", "ci_high", "ci_method",
    "p_value", "p_method", "p_holm", "reject_holm", "p_binomial", "wilson_low", "wilson_high", "p_gee",
    "gee_rate", "effect_size", "effect_kind", "n_raters", "n_judgments", "paper_value", "note",
]


def comparison_pairs(df: pd.DataFrame, config: AnalysisConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(preference pairs, rating pairs), oriented so the first system is earlier in display order."""
    trials = df[df["is_catch"] == 0]
    systems = order_systems(set(trials["system_a"]) | set(trials["system_b"]))
    rank = {s: i for i, s in enumerate(systems)}
    if config.preference_pairs:
        pref = [parse_pair(p) for p in config.preference_pairs]
    else:
        compared = {tuple(sorted((a, b), key=rank.get)) for a, b in zip(trials["system_a"], trials["system_b"])}
        pref = sorted(compared, key=lambda p: (rank[p[0]], rank[p[1]]))
    if config.rating_pairs:
        rate = [parse_pair(p) for p in config.rating_pairs]
    else:
        rate = [(x, y) for i, x in enumerate(systems) for y in systems[i + 1:]]
    return pref, rate


def _preference_row(df: pd.DataFrame, x: str, y: str, config: AnalysisConfig, rng: np.random.Generator) -> dict:
    res = preference.preference(df, x, y, config.n_boot, rng)
    gee = preference.gee_preference(df, x, y) if config.gee else None
    return {
        "family": "preference", "system_x": x, "system_y": y, "attribute": "", "estimate": res.rate,
        "estimate_kind": "P(X preferred)", "ci_low": res.boot_low, "ci_high": res.boot_high,
        "ci_method": "rater bootstrap (expanded percentile)", "p_value": res.p_clustered,
        "p_method": "rater-clustered t (CR1)",
        "p_binomial": res.p_binomial, "wilson_low": res.wilson_low, "wilson_high": res.wilson_high,
        "p_gee": gee.p_preference if gee else np.nan, "gee_rate": gee.rate_at_balanced_side if gee else np.nan,
        "effect_size": 2 * np.arcsin(np.sqrt(res.rate)) - 2 * np.arcsin(np.sqrt(0.5)), "effect_kind": "Cohen's h",
        "n_raters": res.raters, "n_judgments": res.n, "paper_value": PAPER_PREFERENCE.get((x, y), ""),
        "note": gee.note if gee else "",
    }


def _position_row(df: pd.DataFrame, config: AnalysisConfig, rng: np.random.Generator) -> dict:
    res = preference.position_bias(df, config.n_boot, rng)
    return {
        "family": "position", "system_x": "side A", "system_y": "side B", "attribute": "", "estimate": res.rate,
        "estimate_kind": "P(A chosen)", "ci_low": res.boot_low, "ci_high": res.boot_high,
        "ci_method": "rater bootstrap (expanded percentile)", "p_value": res.p_clustered,
        "p_method": "rater-clustered t (CR1)",
        "p_binomial": res.p_binomial, "wilson_low": res.wilson_low, "wilson_high": res.wilson_high,
        "effect_size": 2 * np.arcsin(np.sqrt(res.rate)) - 2 * np.arcsin(np.sqrt(0.5)), "effect_kind": "Cohen's h",
        "n_raters": res.raters, "n_judgments": res.n,
    }


def _too_few(raters: int, what: str) -> str:
    if raters >= ratings.MIN_RATERS:
        return ""
    return f"not tested: {raters} rater(s) rated {what} (needs {ratings.MIN_RATERS})"


def _rating_rows(df: pd.DataFrame, pairs: list[tuple[str, str]], attributes: Sequence[str]) -> list[dict]:
    """Paired tests per question and pair, and Friedman per question over >= 3 systems."""
    long = ratings.long_ratings(df, attributes)
    means = long.groupby(["rater", "system"])[list(attributes)].mean()
    counts = long.groupby("system").size()
    systems = order_systems(counts.index.tolist())
    tables = {attr: ratings.rater_table(means, attr) for attr in attributes}
    rows = []
    for attr in attributes:
        for x, y in pairs:
            res = ratings.paired_comparison(tables[attr], attr, x, y)
            rows.append({
                "family": "ratings", "system_x": x, "system_y": y, "attribute": attr,
                "estimate": res.mean_difference, "estimate_kind": "mean X - Y (points)",
                "ci_low": res.ci_low, "ci_high": res.ci_high, "ci_method": "t across raters",
                "p_value": res.p_value, "p_method": f"Wilcoxon signed-rank ({ratings.ZERO_METHOD})",
                "effect_size": res.rank_biserial, "effect_kind": "rank-biserial",
                "n_raters": res.raters, "n_judgments": int(counts.get(x, 0) + counts.get(y, 0)),
                "paper_value": PAPER_RATINGS.get((x, y), ""),
                "note": _too_few(res.raters, "both systems"),
            })
    if len(systems) >= 3:
        for attr in attributes:
            res = ratings.friedman(tables[attr], attr, systems)
            rows.append({
                "family": "friedman", "system_x": ",".join(systems), "system_y": "", "attribute": attr,
                "estimate": res.statistic, "estimate_kind": f"chi2({len(systems) - 1})",
                "p_value": res.p_value, "p_method": "Friedman (raters as blocks)",
                "effect_size": res.kendall_w, "effect_kind": "Kendall's W",
                "n_raters": res.raters, "n_judgments": int(counts.sum()),
                "note": _too_few(res.raters, "every system"),
            })
    return rows


def collect_tests(df: pd.DataFrame, config: AnalysisConfig) -> pd.DataFrame:
    """Every test on screened trials ``df``, one row each, before multiplicity correction."""
    rng = np.random.default_rng(config.seed)
    pref_pairs, rating_pairs = comparison_pairs(df, config)
    rows = [_preference_row(df, x, y, config, rng) for x, y in pref_pairs]
    rows += _rating_rows(df, rating_pairs, config.attributes)
    rows.append(_position_row(df, config, rng))
    tests = pd.DataFrame(rows).reindex(columns=TEST_COLUMNS)
    text = ["attribute", "ci_method", "paper_value", "note"]
    tests[text] = tests[text].fillna("")
    return tests


def run_tests(df: pd.DataFrame, config: AnalysisConfig) -> pd.DataFrame:
    """``collect_tests`` with Holm's correction over all tests run together (statsmodels).

    Tests that could not run (p = NaN, see ``note``) are left out of the family.
    """
    tests = collect_tests(df, config)
    tested = tests["p_value"].notna().to_numpy()
    tests["p_holm"], tests["reject_holm"] = np.nan, False
    if tested.any():
        reject, p_holm, _, _ = multipletests(tests.loc[tested, "p_value"].to_numpy(), alpha=config.alpha, method="holm")
        tests.loc[tested, "p_holm"], tests.loc[tested, "reject_holm"] = p_holm, reject
    return tests


@dataclass
class StudyResult:
    tests: pd.DataFrame  # run_tests' table
    mean_ratings: pd.DataFrame  # system, attribute, mean, ci_low, ci_high, raters, ratings
    agreement: pd.DataFrame  # measure, level, alpha, units, raters
    power: pd.DataFrame  # the power note's table
    screening: ScreeningReport
    icc_preference: float  # within-rater correlation of the choice, pooled over pairs
    judgments_per_rater: float  # non-catch trials per rater and preference pair
    questions: tuple[RatingQuestion, ...]  # what the ratings answer (ids and scales)


def preference_clustering(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """(ICC of the choice, mean judgments per rater and pair), averaged over preference pairs."""
    iccs, sizes = [], []
    for x, y in pairs:
        trials = preference.pair_trials(df, x, y).groupby("rater")["chose_x"]
        iccs.append(power.binary_icc(trials.sum().to_numpy(), trials.count().to_numpy()))
        sizes.append(trials.count().mean())
    iccs = [i for i in iccs if np.isfinite(i)]
    return float(np.mean(iccs)) if iccs else float("nan"), float(np.mean(sizes)) if sizes else float("nan")


def power_table(
    icc: float, m: float, rater_sd_effects: list[float], config: AnalysisConfig, n_tests: int
) -> pd.DataFrame:
    """Raters needed for a grid of effects, at the study's level and at Holm's worst case alpha/k."""
    rows = []
    icc = icc if np.isfinite(icc) else 0.0  # one judgment per rater: no clustering to estimate
    m = m if np.isfinite(m) else 1.0
    for level_name, alpha in (("alpha", config.alpha), ("alpha/k (Holm, worst case)", config.alpha / max(n_tests, 1))):
        for rate in (0.55, 0.60, 0.65, 0.70):
            rows.append({"measure": "preference", "effect": f"rate {rate:.2f}", "level": level_name, "alpha": alpha,
                         "judgments_per_rater": m, "icc": icc,
                         "raters_needed": power.raters_for_preference(rate, m, icc, config.power, alpha)})
        for d in rater_sd_effects:
            rows.append({"measure": "ratings", "effect": f"d = {d:.2f}", "level": level_name, "alpha": alpha,
                         "judgments_per_rater": np.nan, "icc": np.nan,
                         "raters_needed": power.raters_for_rating(d, config.power, alpha)})
    return pd.DataFrame(rows)


def analyze_study(df: pd.DataFrame, config: AnalysisConfig) -> StudyResult:
    """Screen raters, then run and describe everything (``df``: a validated export)."""
    kept, report = screen(df, config.screening, config.attributes)
    if kept.empty or (kept["is_catch"] == 0).sum() == 0:
        raise AnalysisError("no judgments left after screening: check the catch-trial rules")
    tests = run_tests(kept, config)
    means = pd.DataFrame([vars(m) for m in ratings.mean_ratings(kept, config.attributes)])
    agree = pd.DataFrame([vars(a) for a in (*agreement.rating_agreement(kept, config.attributes),
                                            agreement.preference_agreement(kept))])
    pref_pairs, _ = comparison_pairs(kept, config)
    icc, m = preference_clustering(kept, pref_pairs)
    return StudyResult(tests, means, agree, power_table(icc, m, [0.3, 0.5, 0.8], config, len(tests)), report, icc, m,
                       config.questions)
