import numpy as np
import pandas as pd
import pytest
from scipy import stats

from listening_test.analysis import ratings


def test_rank_biserial_by_hand():
    # |d| ranks 1..4; R+ = 1+2+3 = 6, R- = 4; (6 - 4) / 10
    assert ratings.rank_biserial(np.array([1, 2, 3, -4])) == pytest.approx(0.2)


def test_rank_biserial_keeps_zero_differences_in_the_ranking():
    # |d| = 0, 1, 2 -> ranks 1, 2, 3; R+ = 2, R- = 3, total 6
    assert ratings.rank_biserial(np.array([0.0, 1.0, -2.0])) == pytest.approx(-1 / 6)


def test_wilcoxon_equals_scipy_with_pratt_zeros():
    diff = np.array([0.5, 0.0, 1.0, -0.5, 1.5, 0.0, 2.0, 1.0, -1.0, 0.5, 1.5, 2.5, 0.0, 1.0, 3.0])
    expected = stats.wilcoxon(diff, zero_method="pratt").pvalue
    assert ratings.wilcoxon_p(diff)[1] == pytest.approx(expected)


def test_wilcoxon_of_all_zero_differences_is_one():
    assert ratings.wilcoxon_p(np.zeros(6))[1] == 1.0


def test_mean_with_ci_by_hand():
    # mean 2, sd 1, se 1/sqrt(3); t(0.975, 2) = 4.302653
    mean, low, high = ratings.mean_with_ci(np.array([1.0, 2.0, 3.0]))
    assert (mean, low, high) == pytest.approx((2.0, 2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)), abs=1e-5)


def test_friedman_equals_scipy():
    rng = np.random.default_rng(2)
    wide = pd.DataFrame(rng.integers(1, 6, (8, 3)).astype(float), columns=["a", "b", "c"])
    res = ratings.friedman(wide, "rhythm", ["a", "b", "c"])
    expected = stats.friedmanchisquare(wide["a"], wide["b"], wide["c"])
    assert (res.statistic, res.p_value) == pytest.approx((expected.statistic, expected.pvalue))


def test_rater_means_average_each_raters_ratings_of_a_system(make_trial):
    from listening_test.analysis.schema import validate_export

    rows = [make_trial("r1", 0, "x", "y", "A", ra=(5, 4, 3), rb=(1, 1, 1)),
            make_trial("r1", 1, "y", "x", "A", ra=(2, 2, 2), rb=(3, 2, 1))]
    means = ratings.rater_means(validate_export(pd.DataFrame(rows)))
    assert means.loc[("r1", "x")].tolist() == [4.0, 3.0, 2.0]
    assert means.loc[("r1", "y")].tolist() == [1.5, 1.5, 1.5]
