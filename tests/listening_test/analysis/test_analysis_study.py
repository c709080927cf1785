import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from listening_test.analysis.calibration import holm_reject
from listening_test.analysis.config import AnalysisConfig
from listening_test.analysis.screening import ScreeningConfig, screen
from listening_test.analysis.study import analyze_study, run_tests


def test_holm_on_a_small_vector_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 against 0.05/4, /3, /2, /1: the first two pass, 0.03 > 0.025 stops.
    p = np.array([0.01, 0.04, 0.03, 0.005])
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert reject.tolist() == [True, False, False, True]
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_reject(p[None, :], 0.05)[0].tolist() == reject.tolist()


def test_vectorised_holm_matches_statsmodels_row_by_row():
    p = np.random.default_rng(0).uniform(0, 0.05, (10, 7))
    expected = np.array([multipletests(row, alpha=0.05, method="holm")[0] for row in p])
    assert (holm_reject(p, 0.05) == expected).all()


def test_run_tests_reports_every_family_with_holm_over_all(sim_valid):
    kept, _ = screen(sim_valid, ScreeningConfig())
    tests = run_tests(kept, AnalysisConfig(n_boot=200))
    # 3 preference pairs + 3 attributes x 3 rating pairs + 3 Friedman + position bias
    assert tests["family"].value_counts().to_dict() == {"ratings": 9, "preference": 3, "friedman": 3, "position": 1}
    assert tests["p_holm"].to_numpy() == pytest.approx(multipletests(tests["p_value"], method="holm")[1])


def test_the_paper_rows_carry_the_paper_values(sim_valid):
    tests = run_tests(sim_valid, AnalysisConfig(n_boot=100, gee=False))
    paper = tests[tests["paper_value"] != ""]
    assert set(zip(paper["family"], paper["system_x"], paper["system_y"])) == {
        ("preference", "three_stage", "ground_truth"), ("ratings", "three_stage", "random")}


def test_explicit_pairs_restrict_the_comparisons(sim_valid):
    config = AnalysisConfig(n_boot=100, gee=False, preference_pairs=("three_stage:ground_truth",),
                            rating_pairs=("three_stage:random",))
    tests = run_tests(sim_valid, config)
    assert (tests["family"] == "preference").sum() == 1 and (tests["family"] == "ratings").sum() == 3


def test_analyze_study_gives_a_power_table(sim_valid):
    result = analyze_study(sim_valid, AnalysisConfig(n_boot=100, gee=False))
    assert (result.power["raters_needed"] >= 2).all() and 0 <= result.icc_preference <= 1


def test_power_table_without_estimable_clustering_assumes_none():
    from listening_test.analysis import power
    from listening_test.analysis.study import power_table

    table = power_table(float("nan"), float("nan"), [0.5], AnalysisConfig(), n_tests=4)
    first = table[(table["measure"] == "preference") & (table["level"] == "alpha")].iloc[1]  # rate 0.60
    assert first["raters_needed"] == power.raters_for_preference(0.6, 1.0, 0.0)


def test_comparisons_without_enough_raters_are_reported_untested_and_left_out_of_holm(sim_valid):
    # Only the first rater keeps the trials with ground_truth: its rating comparisons cannot be tested.
    with_gt = (sim_valid["is_catch"] == 0) & (sim_valid[["system_a", "system_b"]] == "ground_truth").any(axis=1)
    df = sim_valid[~with_gt | (sim_valid["rater"] == sim_valid["rater"].iloc[0])]
    tests = run_tests(df, AnalysisConfig(n_boot=100))
    untested = tests[tests["note"].str.startswith("not tested")]
    assert len(untested) == 3 * 2 + 3 and untested["p_holm"].isna().all()  # 2 pairs x 3 attributes + Friedman
    tested = tests["p_value"].notna()
    expected = multipletests(tests.loc[tested, "p_value"], method="holm")[1]
    assert tests.loc[tested, "p_holm"].to_numpy() == pytest.approx(expected)


def test_gee_on_one_judgment_per_rater_is_skipped_with_a_reason(make_trial):
    import pandas as pd

    from listening_test.analysis.preference import gee_preference
    from listening_test.analysis.schema import validate_export

    rows = [make_trial(f"r{k}", k, "x", "y", "AB"[k % 2]) for k in range(4)]
    res = gee_preference(validate_export(pd.DataFrame(rows)), "x", "y")
    assert np.isnan(res.p_preference) and res.note.startswith("GEE not fitted")
