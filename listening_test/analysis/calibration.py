"""Calibration by simulation: type I error under no true difference, power under a planted effect.

Each simulated study goes through the same code as a real one (``screen`` then
``study.collect_tests``), so what is calibrated is what ``analyze`` reports. Study ``s`` of
scenario ``k`` draws from ``np.random.default_rng([seed, k, s])``: any study can be re-run alone.
The predicted power comes from ``power.py`` (normal approximation with a design effect), fed
with the generator's population values (preference rate, within-rater correlation, standardised
rating effect, share of raters kept by screening) measured on one very large simulated study.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from listening_test.analysis import power, preference
from listening_test.analysis.config import AnalysisConfig
from listening_test.analysis.ratings import (
    ZERO_METHOD,
    complete_raters,
    rater_means,
    rater_table,
)
from listening_test.analysis.report import BANNER, to_markdown
from listening_test.analysis.schema import ATTRIBUTES
from listening_test.analysis.screening import screen
from listening_test.analysis.simulate import SimulationConfig, simulate_study
from listening_test.analysis.study import collect_tests

POPULATION_RATERS = 20_000


@dataclass
class Scenario:
    name: str
    simulation: SimulationConfig
    planted: bool  # False: every null hypothesis is true (no system differs, no mean side bias)


def default_scenarios(base: SimulationConfig | None = None) -> list[Scenario]:
    """Two null scenarios (with and without rater-specific taste) and one planted effect.

    ``base`` sets the design and nuisance parameters; its ``quality`` is ignored (set per scenario).
    """
    null = dataclasses.replace(base or SimulationConfig(), quality={})
    return [
        Scenario("null", null, planted=False),
        Scenario("null, no rater taste", dataclasses.replace(null, taste_sd=0.0), planted=False),
        Scenario("three_stage +0.3, random -0.15 points", dataclasses.replace(null, quality={
            "three_stage": [0.3, 0.3, 0.3], "random": [-0.15, -0.15, -0.15]}), planted=True),
    ]


def holm_reject(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down rejections of each row of ``[studies, tests]`` p-values (vectorised).

    Same decisions as ``statsmodels.stats.multitest.multipletests(p, alpha, 'holm')`` row by row.
    """
    order = np.argsort(pvalues, axis=1)
    sorted_p = np.take_along_axis(pvalues, order, axis=1)
    thresholds = alpha / np.arange(pvalues.shape[1], 0, -1)
    passed = np.cumprod(sorted_p <= thresholds, axis=1).astype(bool)
    reject = np.empty_like(passed)
    np.put_along_axis(reject, order, passed, axis=1)
    return reject


def _label(row: pd.Series) -> str:
    if row["family"] == "position":
        return "position: side A chosen"
    if row["family"] == "friedman":
        return f"ratings {row['attribute']}: Friedman"
    if row["family"] == "preference":
        return f"preference {row['system_x']} vs {row['system_y']}"
    return f"ratings {row['attribute']}: {row['system_x']} vs {row['system_y']}"


def study_decisions(tests: pd.DataFrame, alpha: float) -> dict[str, bool]:
    """Every reported test's reject/keep decision at ``alpha`` for one study, by label."""
    out = {}
    for _, row in tests.iterrows():
        label = _label(row)
        out[f"{label} | {row['p_method']}"] = row["p_value"] < alpha
        if row["family"] in ("preference", "position"):
            out[f"{label} | exact binomial (naive)"] = row["p_binomial"] < alpha
            out[f"{label} | Wilson CI excludes 0.5 (naive)"] = not row["wilson_low"] <= 0.5 <= row["wilson_high"]
            out[f"{label} | rater bootstrap CI excludes 0.5"] = not row["ci_low"] <= 0.5 <= row["ci_high"]
        if row["family"] == "preference" and not np.isnan(row["p_gee"]):
            out[f"{label} | GEE exchangeable (bias-reduced SE, t)"] = row["p_gee"] < alpha
    pvalues = tests["p_value"].to_numpy()[None, :]
    out["Holm family: any rejection"] = bool(holm_reject(pvalues, alpha).any())
    return out


def run_scenario(scenario: Scenario, index: int, n_studies: int, seed: int, config: AnalysisConfig) -> pd.DataFrame:
    """``[n_studies, decisions]`` boolean table of one scenario."""
    rows = []
    for s in tqdm(range(n_studies), desc=scenario.name, leave=False, disable=None):
        rng = np.random.default_rng([seed, index, s])
        kept, _ = screen(simulate_study(scenario.simulation, rng), config.screening)
        rows.append(study_decisions(collect_tests(kept, config), config.alpha))
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Population:
    """Population values of a generator, measured on one study of ``POPULATION_RATERS`` raters."""

    keep_fraction: float  # share of raters kept by screening
    preference_rate: dict[tuple[str, str], float]
    preference_icc: dict[tuple[str, str], float]
    judgments_per_rater: dict[tuple[str, str], float]
    rating_effect: dict[tuple[str, str, str], float]  # (attribute, X, Y) -> mean/sd of rater differences


def population(
    sim: SimulationConfig, config: AnalysisConfig, seed: int, n_raters: int = POPULATION_RATERS
) -> Population:
    big = dataclasses.replace(sim, n_raters=n_raters)
    df, report = screen(simulate_study(big, np.random.default_rng([seed, 999])), config.screening)
    systems = list(sim.systems)
    pairs = [(x, y) for i, x in enumerate(systems) for y in systems[i + 1:]]
    rate, icc, size, effect = {}, {}, {}, {}
    for x, y in pairs:
        counts = preference.pair_trials(df, x, y).groupby("rater")["chose_x"]
        wins, trials = counts.sum().to_numpy(), counts.count().to_numpy()
        rate[(x, y)] = wins.sum() / trials.sum()
        icc[(x, y)] = power.binary_icc(wins, trials)
        size[(x, y)] = float(trials.mean())
    means = rater_means(df)
    for attr in ATTRIBUTES:
        table = rater_table(means, attr)
        for x, y in pairs:
            pair = complete_raters(table, [x, y])
            diff = pair[x] - pair[y]
            effect[(attr, x, y)] = float(diff.mean() / diff.std(ddof=1))
    return Population(report.raters_after / report.raters_before, rate, icc, size, effect)


def expected_power(power_at, n_raters: int, keep_fraction: float) -> float:
    """Power averaged over the number of raters kept, G ~ Binomial(n_raters, keep_fraction)."""
    g = np.arange(2, n_raters + 1)
    weights = stats.binom.pmf(g, n_raters, keep_fraction)
    return float(np.sum(weights * np.array([power_at(int(k)) for k in g])) / weights.sum())


def _preference_power_at(g: int, rate: float, m: float, icc: float, alpha: float) -> float:
    return power.preference_power(rate, g, m, icc, alpha)


def _rating_power_at(g: int, d: float, alpha: float) -> float:
    return power.rating_power(d, g, alpha)


def predicted_power(sim: SimulationConfig, pop: Population, alpha: float) -> dict[str, float]:
    """Predicted power of each primary test, by the label ``study_decisions`` gives it."""
    out = {}
    for (x, y), rate in pop.preference_rate.items():
        power_at = functools.partial(_preference_power_at, rate=rate, m=pop.judgments_per_rater[(x, y)],
                                     icc=pop.preference_icc[(x, y)], alpha=alpha)
        out[f"preference {x} vs {y} | rater-clustered t (CR1)"] = expected_power(
            power_at, sim.n_raters, pop.keep_fraction)
    for (attr, x, y), d in pop.rating_effect.items():
        power_at = functools.partial(_rating_power_at, d=d, alpha=alpha)
        out[f"ratings {attr}: {x} vs {y} | Wilcoxon signed-rank ({ZERO_METHOD})"] = expected_power(
            power_at, sim.n_raters, pop.keep_fraction)
    return out


def summarise(decisions: pd.DataFrame, alpha: float, predicted: dict[str, float] | None) -> pd.DataFrame:
    """Rejection rate per decision with its Monte-Carlo SE, and the check against alpha or power."""
    n = len(decisions)
    rate = decisions.mean(axis=0)
    table = pd.DataFrame({"test": rate.index, "rejection_rate": rate.to_numpy(),
                          "mc_se": np.sqrt(rate * (1 - rate) / n).to_numpy()})
    if predicted is None:
        bound = alpha + 2 * np.sqrt(alpha * (1 - alpha) / n)
        table["check"] = np.where(table["rejection_rate"] <= bound, f"ok (<= {bound:.3f})", f"EXCEEDS {bound:.3f}")
    else:
        table["predicted_power"] = table["test"].map(predicted)
        se = np.sqrt(table["predicted_power"] * (1 - table["predicted_power"]) / n)
        gap = (table["rejection_rate"] - table["predicted_power"]).abs()
        table["check"] = np.where(table["predicted_power"].isna(), "", np.where(gap <= 2 * se, "ok (within 2 MC SE)",
                                                                               "differs (> 2 MC SE)"))
    return table


def calibrate(scenarios: list[Scenario], n_studies: int, seed: int, config: AnalysisConfig,
              population_raters: int = POPULATION_RATERS) -> list[dict]:
    """Run every scenario; return per-scenario dicts with the summary table and wall time (s)."""
    out = []
    for k, scenario in enumerate(scenarios):
        start, cpu_start = time.perf_counter(), time.process_time()
        decisions = run_scenario(scenario, k, n_studies, seed, config)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        pop = population(scenario.simulation, config, seed + k, population_raters)
        predicted = predicted_power(scenario.simulation, pop, config.alpha) if scenario.planted else None
        out.append({"scenario": scenario, "summary": summarise(decisions, config.alpha, predicted),
                    "population": pop, "wall_s": wall, "cpu_s": cpu, "n_studies": n_studies,
                    "population_raters": population_raters})
    return out


def _settings_json(obj) -> str:
    return json.dumps(dataclasses.asdict(obj), indent=1, sort_keys=True, default=str)


def _intro(results: list[dict], seed: int, started: str) -> list[str]:
    n = results[0]["n_studies"]
    wall, cpu = sum(r["wall_s"] for r in results), sum(r["cpu_s"] for r in results)
    per = ", ".join(f"{r['scenario'].name}: {r['wall_s']:.0f} s wall / {r['cpu_s']:.0f} s CPU" for r in results)
    return [
        f"> **{BANNER}**", "",
        "# Listening-test analysis: calibration by simulation", "",
        (f"Generated by `listening_test simulate --studies {n} --seed {seed}`, started {started} (UTC), in one "
         f"process with one thread (OMP_NUM_THREADS=1) on a 2-core machine shared with other jobs. Time of the "
         f"{len(results)} x {n} studies: {wall:.0f} s wall, {cpu:.0f} s CPU ({per}); "
         f"{1000 * cpu / (len(results) * n):.0f} ms CPU per study (simulation + screening + every test)."), "",
        ("Every simulated study goes through the same code as `listening_test analyze` (catch-trial screening, "
         "then every test of the report). A test 'rejects' when p < alpha, or when its 95% CI excludes 50%. "
         f"Study s of scenario k uses `numpy.random.default_rng([{seed}, k, s])`. Monte-Carlo SE of a rate r "
         f"over {n} studies: sqrt(r(1-r)/{n}). Under the null the check is rate <= alpha + 2 MC SE(alpha); "
         "under the planted effect it is |simulated - predicted power| <= 2 MC SE(predicted)."), "",
        ("Predicted power: `power.py` (normal approximation with Kish's design effect, t with G-1 df; "
         "Wilcoxon via ARE 3/pi), averaged over the number of raters kept, G ~ Binomial(n_raters, keep fraction). "
         "The generator's population values (rate, within-rater correlation, d, keep fraction) are measured on "
         f"one simulated study of {results[0]['population_raters']} raters (`default_rng([seed + k, 999])`)."), "",
        ("Tests marked '(naive)' treat judgments as independent. They are reported for comparison with papers, "
         "not as the headline, and this calibration shows why: with rater-specific taste they reject too often."),
        "",
    ]


def _scenario_section(k: int, r: dict) -> list[str]:
    scenario, pop = r["scenario"], r["population"]
    summary = r["summary"].copy()
    for col in ("rejection_rate", "mc_se", "predicted_power"):
        if col in summary:
            summary[col] = summary[col].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    rates = "; ".join(f"{x} vs {y}: {pop.preference_rate[(x, y)]:.3f}, rho {pop.preference_icc[(x, y)]:.3f}"
                      for x, y in pop.preference_rate)
    effects = "; ".join(f"{a} {x} vs {y}: {d:.3f}" for (a, x, y), d in pop.rating_effect.items())
    kind = "planted effect" if scenario.planted else "every null true"
    return [
        f"## Scenario {k}: {scenario.name} ({kind})", "",
        (f"Studies: {r['n_studies']}; {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU. "
         f"Raters kept by screening (population): {pop.keep_fraction:.3f}."), "",
        f"Population preference rate of X over Y and within-rater correlation: {rates}.", "",
        f"Population standardised rating effect d (mean/sd of per-rater differences): {effects}.", "",
        "Simulation settings:", "", "```json", _settings_json(scenario.simulation), "```", "",
        to_markdown(summary), "",
    ]


def _verdicts(results: list[dict], alpha: float) -> list[str]:
    """One line per scenario: how many checks pass, which fail, and how many failures chance explains."""
    lines = ["## Summary", ""]
    for k, r in enumerate(results):
        table, n = r["summary"], r["n_studies"]
        primary = table[~table["test"].str.contains("naive") & (table["check"] != "")]
        failed = primary[~primary["check"].str.startswith("ok")]
        if r["scenario"].planted:
            chance = 2 * stats.norm.sf(2) * len(primary)  # |gap| > 2 SE under a correct prediction
        else:
            bound = alpha + 2 * np.sqrt(alpha * (1 - alpha) / n)
            chance = stats.binom.sf(np.floor(bound * n), n, alpha) * len(primary)
        naive = table[table["test"].str.contains("naive")]
        naive_max = (f"; the naive tests reject up to {naive['rejection_rate'].max():.3f}"
                     if len(naive) and not r["scenario"].planted else "")
        names = ", ".join(f"{t} ({v:.3f})" for t, v in zip(failed["test"], failed["rejection_rate"])) or "none"
        lines.append(f"- Scenario {k} ({r['scenario'].name}): {len(primary) - len(failed)}/{len(primary)} "
                     f"checks of the non-naive tests pass; outside: {names}. Expected by chance alone at "
                     f"these bounds: {chance:.1f}{naive_max}.")
    return lines + [""]


def calibration_markdown(results: list[dict], seed: int, config: AnalysisConfig, started: str) -> str:
    """The calibration report: settings, seeds, rejection rates with MC SEs, power checks, time taken."""
    lines = _intro(results, seed, started) + _verdicts(results, config.alpha)
    lines += ["## Analysis settings", "", "```json", _settings_json(config), "```", ""]
    for k, r in enumerate(results):
        lines += _scenario_section(k, r)
    return "\n".join(lines)
