import dataclasses

import pytest

from listening_test.analysis import calibration
from listening_test.analysis.config import AnalysisConfig
from listening_test.analysis.report import BANNER
from listening_test.analysis.simulate import SimulationConfig

FAST = AnalysisConfig(n_boot=200, gee=False)


@pytest.mark.slow
def test_primary_tests_hold_their_level_on_a_small_null_calibration():
    scenario = calibration.default_scenarios()[0]
    decisions = calibration.run_scenario(scenario, 0, 60, 123, FAST)
    primary = [c for c in decisions.columns if "(naive)" not in c]
    # 60 studies: alpha + 3 MC SE = 0.05 + 3 * 0.028
    assert decisions[primary].mean().max() <= 0.135


@pytest.mark.slow
def test_calibration_report_has_settings_seeds_and_mc_errors():
    small = SimulationConfig(n_raters=8, n_items=3)
    scenarios = calibration.default_scenarios(small)
    results = calibration.calibrate(scenarios, 4, 11, FAST, population_raters=200)
    text = calibration.calibration_markdown(results, 11, FAST, "now")
    assert BANNER in text and "default_rng([11, k, s])" in text and "mc_se" in text and "predicted_power" in text


def test_population_values_of_the_null_show_no_preference():
    pop = calibration.population(SimulationConfig(), FAST, 0, n_raters=2000)
    assert all(abs(r - 0.5) < 0.02 for r in pop.preference_rate.values())


def test_summary_flags_a_rate_above_the_bound():
    import pandas as pd

    decisions = pd.DataFrame({"ok": [False] * 95 + [True] * 5, "bad": [False] * 80 + [True] * 20})
    table = calibration.summarise(decisions, 0.05, None).set_index("test")
    assert table.loc["ok", "check"].startswith("ok") and table.loc["bad", "check"].startswith("EXCEEDS")


def test_default_scenarios_plant_an_effect_only_in_the_last():
    scenarios = calibration.default_scenarios(dataclasses.replace(SimulationConfig(), quality={"random": [1, 1, 1]}))
    assert [s.planted for s in scenarios] == [False, False, True] and scenarios[0].simulation.quality == {}
