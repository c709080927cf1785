import numpy as np
import pytest

from listening_test.analysis.config import ConfigError
from listening_test.analysis.simulate import SimulationConfig, simulate_study


def test_same_seed_gives_the_same_study():
    config = SimulationConfig(n_raters=4, n_items=3)
    a = simulate_study(config, np.random.default_rng(1))
    b = simulate_study(config, np.random.default_rng(1))
    assert a.equals(b)


def test_sides_are_balanced_per_rater_and_pair(sim_export):
    trials = sim_export[sim_export["is_catch"] == 0]
    x_first = trials["system_a"] < trials["system_b"]
    pair = np.minimum(trials["system_a"], trials["system_b"]) + "|" + np.maximum(trials["system_a"], trials["system_b"])
    share = x_first.groupby([trials["rater"], pair]).mean()
    assert (share == 0.5).all()  # 4 items: 2 on each side


def test_every_rater_gets_the_catch_trials_and_a_full_plan(sim_export):
    per_rater = sim_export.groupby("rater")
    assert (per_rater["is_catch"].sum() == 4).all()
    assert (per_rater["trial_index"].apply(lambda s: sorted(s) == list(range(len(s))))).all()


def test_planted_quality_raises_the_preference():
    config = SimulationConfig(n_raters=300, n_items=4, careless_fraction=0.0, quality={"three_stage": [1.0, 1.0, 1.0]})
    df = simulate_study(config, np.random.default_rng(0))
    trials = df[(df["is_catch"] == 0) & (df[["system_a", "system_b"]] == "three_stage").any(axis=1)]
    assert (trials["preferred"] == "three_stage").mean() > 0.7


def test_quality_of_an_unknown_system_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown system"):
        simulate_study(SimulationConfig(quality={"two_stage": [1, 1, 1]}), np.random.default_rng(0))
