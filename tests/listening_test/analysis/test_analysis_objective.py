"""Objective metrics beside simulated ratings: planted agreement is found, noise is not."""

import numpy as np
import pandas as pd
import pytest

from listening_test.analysis.objective import item_of, objective_cells, side_by_side
from listening_test.analysis.schema import AnalysisError, validate_export
from listening_test.analysis.simulate import SimulationConfig, simulate_study

QUALITY = {"ground_truth": [1.5, 1.5, 1.5], "three_stage": [0.0, 0.0, 0.0], "random": [-1.5, -1.5, -1.5]}
CONFIG = SimulationConfig(n_raters=20, n_items=6, quality=QUALITY, careless_fraction=0.0)


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    df = validate_export(simulate_study(CONFIG, np.random.default_rng(3)))
    return df[df["is_catch"] == 0]


def _objective(values_by_system: dict[str, float], noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"item": f"item{i:02d}", "system": s, **{m: v + rng.normal(0, noise) for m in
             ("rhythm", "harmony", "coherence")}} for i in range(CONFIG.n_items) for s, v in values_by_system.items()]
    return pd.DataFrame(rows)


def test_metric_that_follows_the_planted_quality_correlates_with_ratings(trials):
    table = side_by_side(trials, _objective({"ground_truth": 0.9, "three_stage": 0.6, "random": 0.3}, 0.02, 0),
                         n_boot=200)
    assert (table["pearson_r"] > 0.6).all() and (table["r_ci_low"] > 0).all()
    assert (table["system_spearman_rho"] == 1.0).all()


def test_metric_unrelated_to_the_systems_does_not_correlate(trials):
    table = side_by_side(trials, _objective({"ground_truth": 0.5, "three_stage": 0.5, "random": 0.5}, 0.1, 1),
                         n_boot=200)
    assert (table["r_ci_low"] < 0).all() and (table["r_ci_high"] > 0).all()


def test_benchmark_clip_ids_map_to_item_names():
    cells = objective_cells(pd.DataFrame({"clip_id": ["bwv10.7@12.00"], "system": ["random"], "rhythm": [0.1],
                                          "harmony": [0.2], "coherence": [0.3]}))
    assert item_of("bwv10.7@12.00") == "bwv10.7_12.00" and cells["item"].tolist() == ["bwv10.7_12.00"]


def test_objective_table_without_the_study_items_is_an_error(trials):
    other = _objective({"ground_truth": 0.9}, 0.0, 0).assign(item="elsewhere")
    with pytest.raises(AnalysisError):
        side_by_side(trials, other, n_boot=10)


def test_analyze_with_objective_metrics_writes_the_side_by_side_table(tmp_path, sim_export):
    from listening_test.analysis.cli import main

    sim_export.to_csv(tmp_path / "sim.csv", index=False)
    items, systems = sorted(set(sim_export["item"])), sorted(set(sim_export["system_a"]))
    rng = np.random.default_rng(0)
    pd.DataFrame([{"item": i, "system": s, "rhythm": rng.random(), "harmony": rng.random(), "coherence": rng.random()}
                  for i in items for s in systems]).to_csv(tmp_path / "objective.csv", index=False)
    out = tmp_path / "listening_simulated"
    assert main(["analyze", str(tmp_path / "sim.csv"), "--out", str(out), "--n-boot", "50",
                 "--objective", str(tmp_path / "objective.csv")]) == 0
    table = pd.read_csv(out / "objective_vs_subjective.csv")
    assert list(table["attribute"]) == ["rhythm", "harmony", "coherence"] and (table["simulated"] == 1).all()
    assert "SIMULATED" in (out / "objective_vs_subjective.md").read_text()
