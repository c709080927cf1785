"""Objective metrics beside subjective ratings: correlation per attribute (rhythm, harmony, coherence).

Only the questions with an objective metric (``ATTRIBUTE_METRIC``) are compared; a study file
asking other questions compares those of its questions that are among them.

The objective side is the benchmark's per-clip table (``results/proxies.csv``: ``clip_id``,
``system`` and the metric columns ``rhythm``, ``harmony``, ``coherence`` of ``benchmark.music``)
or any CSV with ``item`` instead of ``clip_id``. Items of a study built from a benchmark run are
file-safe clip ids (``benchmark.listening_source.item_name``, the same substitution as ``item_of`` here;
this package does not import ``benchmark``).

The subjective side is the screened export: each (item, system) gets the mean rating of every
attribute over the raters who heard it. Per attribute, over the (item, system) cells:

- Pearson r and Spearman rho of objective value vs mean rating, with a 95% percentile bootstrap
  CI that resamples *items* (the cells of one item share a vocal and are not independent);
- Spearman rho over systems of the system means (the ranking question: does the metric order the
  systems as listeners do?), reported without a CI (few systems).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from listening_test.analysis.ratings import long_ratings
from listening_test.analysis.schema import ATTRIBUTES, AnalysisError

ATTRIBUTE_METRIC = {"rhythm": "rhythm", "harmony": "harmony", "coherence": "coherence"}


def item_of(clip_id: str) -> str:
    """The study item name of a benchmark clip id (``bwv10.7@12.00`` stays ``bwv10.7_12.00``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", clip_id)


def objective_cells(objective: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """``item, system`` and one column per attribute (its objective metric), averaged per cell."""
    frame = objective.copy()
    if "item" not in frame:
        if "clip_id" not in frame:
            raise AnalysisError("objective table needs an 'item' or a 'clip_id' column")
        frame["item"] = frame["clip_id"].astype(str).map(item_of)
    metrics = [ATTRIBUTE_METRIC[a] for a in attributes]
    missing = [m for m in metrics if m not in frame]
    if missing:
        raise AnalysisError(f"objective table lacks metric columns {missing}")
    cells = frame.groupby(["item", "system"])[metrics].mean()
    return cells.rename(columns={ATTRIBUTE_METRIC[a]: a for a in attributes}).reset_index()


def subjective_cells(trials: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """Mean rating per (item, system) and attribute over the (screened, non-catch) ``trials``."""
    return long_ratings(trials, attributes).groupby(["item", "system"])[list(attributes)].mean().reset_index()


def compared_attributes(attributes: Sequence[str]) -> list[str]:
    """The questions of ``attributes`` that have an objective metric; refuses a study with none."""
    compared = [a for a in attributes if a in ATTRIBUTE_METRIC]
    if not compared:
        raise AnalysisError(f"none of the study's questions ({', '.join(attributes)}) has an objective metric; "
                            f"--objective compares {', '.join(ATTRIBUTE_METRIC)}")
    return compared


def _item_bootstrap(merged: pd.DataFrame, attr: str, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    items = merged["item"].unique()
    groups = {i: merged.index[merged["item"] == i] for i in items}
    rs = []
    for _ in range(n_boot):
        idx = np.concatenate([groups[i] for i in rng.choice(items, len(items))])
        x, y = merged.loc[idx, f"{attr}_objective"], merged.loc[idx, f"{attr}_rating"]
        if x.nunique() > 1 and y.nunique() > 1:
            rs.append(np.corrcoef(x, y)[0, 1])
    return tuple(np.quantile(rs, [0.025, 0.975])) if rs else (np.nan, np.nan)


def side_by_side(trials: pd.DataFrame, objective: pd.DataFrame, *, n_boot: int = 2000,
                 seed: int = 0, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """One row per attribute with a metric: cells, items, Pearson r [item-bootstrap CI], Spearman rho,
    system-level rho (``attributes``: the question ids the export rates)."""
    attributes = compared_attributes(attributes)
    merged = subjective_cells(trials, attributes).merge(objective_cells(objective, attributes),
                                                        on=["item", "system"], suffixes=("_rating", "_objective"))
    if merged.empty:
        raise AnalysisError("no (item, system) of the export is in the objective table: are the items clip ids?")
    rng = np.random.default_rng(seed)
    rows = []
    for attr in attributes:
        x, y = merged[f"{attr}_objective"], merged[f"{attr}_rating"]
        ok = x.notna() & y.notna()
        lo, hi = _item_bootstrap(merged[ok].reset_index(drop=True), attr, n_boot, rng)
        systems = merged[ok].groupby("system")[[f"{attr}_objective", f"{attr}_rating"]].mean()
        sys_rho = stats.spearmanr(systems.iloc[:, 0], systems.iloc[:, 1]).statistic if len(systems) > 2 else np.nan
        rows.append({"attribute": attr, "metric": ATTRIBUTE_METRIC[attr], "cells": int(ok.sum()),
                     "items": int(merged.loc[ok, "item"].nunique()), "systems": len(systems),
                     "pearson_r": float(np.corrcoef(x[ok], y[ok])[0, 1]), "r_ci_low": float(lo),
                     "r_ci_high": float(hi), "spearman_rho": float(stats.spearmanr(x[ok], y[ok]).statistic),
                     "system_spearman_rho": float(sys_rho)})
    return pd.DataFrame(rows)


def side_by_side_markdown(table: pd.DataFrame, simulated: bool) -> str:
    title = "Objective metrics vs listener ratings" + (" (SIMULATED data)" if simulated else "")
    lines = [f"# {title}", "",
             "Per attribute, over (item, system) cells: objective metric (benchmark, `benchmark.music`) vs the "
             "mean rating of the screened raters. CI: 95% bootstrap over items.", "",
             "| attribute | metric | Pearson r [95% CI] | Spearman rho | system-level rho | cells | items |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.attribute} | {r.metric} | {r.pearson_r:.3f} [{r.r_ci_low:.3f}, {r.r_ci_high:.3f}] | "
                     f"{r.spearman_rho:.3f} | {r.system_spearman_rho:.3f} | {r.cells} | {r.items} |")
    return "\n".join(lines) + "\n"
