import pytest

from listening_test.analysis import power


def test_design_effect_by_hand():
    assert power.design_effect(20, 0.05) == pytest.approx(1.95)


def test_binary_icc_of_opposite_raters_is_one():
    # p_r = 1, 0; MSB = 1, MSW = 0, n0 = 2 -> (1 - 0) / (1 + 0)
    assert power.binary_icc([2, 0], [2, 2]) == pytest.approx(1.0)


def test_binary_icc_of_identical_raters_is_zero():
    assert power.binary_icc([3, 3, 3], [6, 6, 6]) == 0.0


def test_power_at_no_effect_is_alpha():
    assert power.preference_power(0.5, 30, 10, 0.1) == pytest.approx(0.05)


def test_raters_for_60_percent_without_clustering_match_the_textbook_sample_size():
    # one judgment per rater, rho = 0: the classic n = (z_.975 + z_.8)^2 p(1-p) / (p - .5)^2 = 188.4,
    # a little more with the t reference
    g = power.raters_for_preference(0.6, 1, 0.0)
    assert 188 <= g <= 192
    assert power.preference_power(0.6, g - 1, 1, 0.0) < 0.8 <= power.preference_power(0.6, g, 1, 0.0)


def test_clustering_inflates_the_sample_by_about_the_design_effect():
    alone = power.raters_for_preference(0.6, 20, 0.0) * 20
    clustered = power.raters_for_preference(0.6, 20, 0.05) * 20
    assert clustered / alone == pytest.approx(1.95, rel=0.12)


def test_raters_for_rating_effect_half_sd():
    # t test needs 34 pairs for d = 0.5; the Wilcoxon (ARE 3/pi) a few more
    assert 34 <= power.raters_for_rating(0.5) <= 37
