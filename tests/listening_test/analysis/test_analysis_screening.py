import pandas as pd

from listening_test.analysis.schema import validate_export
from listening_test.analysis.screening import ScreeningConfig, catch_failures, screen


def _catches(make_trial):
    return [
        make_trial("good", 0, "x", "x", "A", ra=(4, 4, 4), rb=(4, 3, 4), kind="identical"),  # diff 1: pass
        # B lower rhythm: pass
        make_trial("good", 1, "x", "x", "A", ra=(4, 2, 3), rb=(2, 4, 3), kind="offbeat", catch_side="B"),
        make_trial("good", 2, "x", "y", "A"),
        make_trial("bad", 3, "x", "x", "A", ra=(5, 5, 5), rb=(2, 5, 5), kind="identical"),  # diff 3: fail
        # A lower harmony: pass
        make_trial("bad", 4, "x", "x", "A", ra=(3, 2, 3), rb=(3, 4, 3), kind="transposed", catch_side="A"),
        # equal rhythm: fail
        make_trial("bad", 5, "x", "x", "A", ra=(3, 3, 3), rb=(3, 3, 3), kind="offbeat", catch_side="A"),
        make_trial("bad", 6, "x", "y", "B"),
        make_trial("new", 7, "x", "y", "B"),
    ]


def test_catch_rules_by_hand(make_trial):
    df = validate_export(pd.DataFrame(_catches(make_trial)))
    failed = catch_failures(df, ScreeningConfig())
    assert failed.tolist() == [False, False, True, False, True]


def test_screen_excludes_raters_failing_too_many_catches_and_counts(make_trial):
    kept, report = screen(validate_export(pd.DataFrame(_catches(make_trial))), ScreeningConfig())
    assert report.excluded == ("bad",) and sorted(kept["rater"].unique()) == ["good", "new"]
    assert (report.raters_before, report.raters_after, report.judgments_before, report.judgments_after) == (3, 2, 3, 2)
    assert report.unscreened == 1 and report.failures_by_kind == {"identical": 1, "offbeat": 1, "transposed": 0}


def test_require_catch_also_excludes_unscreened_raters(make_trial):
    _, report = screen(validate_export(pd.DataFrame(_catches(make_trial))), ScreeningConfig(require_catch=True))
    assert report.excluded == ("bad", "new")


def test_screening_of_a_simulated_study_removes_most_careless_raters(sim_valid):
    _, report = screen(sim_valid, ScreeningConfig())
    assert report.raters_after < report.raters_before and report.catch_trials == 12 * 4


def test_headphone_failures_are_excluded_on_request(server_export):
    df = validate_export(server_export)
    _, without = screen(df, ScreeningConfig())
    _, with_rule = screen(df, ScreeningConfig(require_headphones=True))
    assert without.excluded_headphones == 0
    assert "r-0003" in with_rule.excluded and with_rule.excluded_headphones == 1
