import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from listening_test.analysis import preference
from listening_test.analysis.schema import AnalysisError


def test_wilson_interval_of_7_out_of_10_by_hand():
    # z = 1.959964: centre 0.7 + z^2/20 = 0.892073; half-width z sqrt(0.021 + z^2/400) = 0.342878;
    # divided by 1 + z^2/10 = 1.384146 -> [0.396778, 0.892209].
    low, high = preference.wilson_interval(7, 10)
    assert low == pytest.approx(0.396778, abs=1e-6) and high == pytest.approx(0.892209, abs=1e-6)


def test_wilson_interval_matches_scipy():
    ci = stats.binomtest(120, 200).proportion_ci(method="wilson")
    assert preference.wilson_interval(120, 200) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_exact_binomial_p_of_7_out_of_10_by_hand():
    # two-sided: 2 * P(X >= 7) = 2 * (120 + 45 + 10 + 1) / 1024
    assert preference.binomial_p(7, 10) == pytest.approx(2 * 176 / 1024)


def test_cluster_robust_p_equals_statsmodels_cluster_ols():
    rng = np.random.default_rng(3)
    raters = np.repeat(np.arange(9), rng.integers(4, 12, 9))
    y = (rng.random(len(raters)) < 0.4 + 0.05 * (raters % 3)).astype(float)
    fit = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": raters}, use_t=True)
    t_stat = (fit.params[0] - 0.5) / fit.bse[0]
    expected = 2 * stats.t.sf(abs(t_stat), df=8)
    wins = np.bincount(raters, weights=y)
    trials = np.bincount(raters)
    assert preference.cluster_robust_p(wins, trials) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("wins, expected", [([4, 4, 4], 0.0), ([2, 2, 2], 1.0)])
def test_cluster_robust_p_of_raters_without_spread(wins, expected):
    # every rater at the same rate: no standard error; a rate of 1 is a sure difference, 1/2 none
    assert preference.cluster_robust_p(np.array(wins), np.array([4, 4, 4])) == expected


def test_cluster_bootstrap_of_identical_raters_has_no_spread():
    rates = preference.cluster_bootstrap_rates(np.full(5, 3.0), np.full(5, 4.0), 200, np.random.default_rng(0))
    assert np.allclose(rates, 0.75)


def test_expanded_percentile_interval_is_wider_than_the_plain_one():
    values = np.random.default_rng(1).normal(size=4000)
    plain = np.quantile(values, [0.025, 0.975])
    low, high = preference.expanded_percentile_interval(values, groups=10)
    assert low < plain[0] and high > plain[1]


def test_preference_counts_x_on_either_side(make_trial):
    rows = [make_trial("r1", 0, "x", "y", "A"), make_trial("r1", 1, "y", "x", "B"),
            make_trial("r2", 2, "x", "y", "B"), make_trial("r2", 3, "y", "x", "B")]
    from listening_test.analysis.schema import validate_export

    res = preference.preference(validate_export(pd.DataFrame(rows)), "x", "y", 100, np.random.default_rng(0))
    assert (res.successes, res.n, res.raters) == (3, 4, 2)


def test_preference_of_an_absent_pair_is_an_analysis_error(sim_valid):
    with pytest.raises(AnalysisError, match="no trial compares"):
        preference.preference(sim_valid, "three_stage", "two_stage", 100, np.random.default_rng(0))


def test_gee_detects_a_planted_side_effect():
    rng = np.random.default_rng(5)
    n = 600
    x_side = np.tile([0.5, -0.5], n // 2)
    chose_x = rng.random(n) < 1 / (1 + np.exp(-2.0 * x_side))
    df = pd.DataFrame({
        "rater": np.repeat([f"r{k}" for k in range(30)], n // 30), "item": "i", "is_catch": 0,
        "system_a": np.where(x_side > 0, "x", "y"), "system_b": np.where(x_side > 0, "y", "x"),
        "preferred": np.where(chose_x, "x", "y"),
    })
    res = preference.gee_preference(df, "x", "y")
    assert res.side_odds_ratio > 3 and res.p_side < 1e-6 and res.p_preference > 0.01
