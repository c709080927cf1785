"""A study file with its own questions and scales: the analysis reads, checks and analyses them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from listening_test.analysis.cli import main
from listening_test.analysis.questions import RatingQuestion
from listening_test.analysis.schema import ExportError, validate_export
from listening_test.analysis.screening import ScreeningConfig, catch_failures
from listening_test.study_file import Question, StudyConfig, study_to_toml
from listening_test.export import write_csv

STUDY_ID = "groove-lab"
QUESTIONS = [Question(id="melody", prompt="Does the melody fit?", min=1, max=7),
             Question(id="groove", prompt="Does it groove?", min=1, max=7)]
SYSTEMS = ("ours", "baseline", "anchor")
MELODY = {"ours": 6, "baseline": 4, "anchor": 2}  # planted: ours > baseline > anchor on melody


def _trial(rater: int, position: int, item: int, a: str, b: str, preference: str, kind: str = "",
           ratings: dict[str, int] | None = None) -> dict:
    """One row of the server's export (``listening_test.export``) for this study's questions."""
    if ratings is None:
        jitter = (rater + item) % 2  # raters differ a little; groove carries no effect
        ratings = {f"melody_{s}": MELODY[sys] + jitter for s, sys in (("a", a), ("b", b))}
        ratings |= {f"groove_{s}": 3 + (rater + item + k) % 3 for k, s in enumerate("ab")}
    return {"study_id": STUDY_ID, "rater_id": f"rater{rater}", "session_id": f"session{rater}", "plan_index": rater,
            "trial_index": position, "item": f"song{item}", "system_a": a, "system_b": b, "pair_x": a, "pair_y": b,
            "x_side": "A", "is_catch": int(bool(kind)), "catch_kind": kind, "catch_expected": "",
            "preference": preference, "preferred_system": a if preference == "A" else b,
            "chose_x": int(preference == "A"), **ratings, "plays_a": 1, "plays_b": 1,
            "answered_at": f"2027-03-01T10:{position:02d}:00.000Z", "headphone_passed": 1, "session_completed": 1}


def _rater_rows(rater: int) -> list[dict]:
    """Every pair on three songs, sides alternating; the melody-better side is chosen, except once."""
    rows = []
    pairs = itertools.combinations(SYSTEMS, 2)
    for position, ((x, y), item) in enumerate(itertools.product(pairs, range(3))):
        a, b = (x, y) if (position + rater) % 2 == 0 else (y, x)
        better = "A" if MELODY[a] > MELODY[b] else "B"
        lapse = position == rater % 9
        rows.append(_trial(rater, position, item, a, b, {"A": "B", "B": "A"}[better] if lapse else better))
    return rows


def _write_study(tmp_path: Path) -> tuple[Path, Path]:
    """(study file, export CSV of 8 raters x 9 trials) of the melody/groove study."""
    study = tmp_path / "study.toml"
    study.write_text(study_to_toml(StudyConfig(study_id=STUDY_ID, questions=QUESTIONS, pairs=[("ours", "baseline")])))
    export = tmp_path / "export.csv"
    with export.open("w", newline="") as f:
        write_csv(iter([row for r in range(8) for row in _rater_rows(r)]), f, [q.id for q in QUESTIONS])
    return study, export


def test_analyze_names_and_analyses_the_declared_questions(tmp_path):
    study, export = _write_study(tmp_path)
    out = tmp_path / "results"
    assert main(["analyze", str(export), "--study", str(study), "--out", str(out), "--n-boot", "100"]) == 0
    tests = pd.read_csv(out / "listening_tests.csv", keep_default_na=False)
    rated = tests[tests["family"].isin(["ratings", "friedman"])]
    assert set(rated["attribute"]) == {"melody", "groove"} and len(rated) == 2 * (3 + 1)
    # unknown systems are ordered alphabetically: each row is "baseline" (X) against "ours" (Y)
    melody = rated[(rated["attribute"] == "melody") & (rated["system_x"] == "baseline") & (rated["system_y"] == "ours")]
    assert melody["estimate"].item() == pytest.approx(-2.0) and melody["p_value"].item() < 0.05
    preference = tests[(tests["family"] == "preference") & (tests["system_x"] == "baseline")
                       & (tests["system_y"] == "ours")]
    assert preference["estimate"].item() == pytest.approx(3 / 24)
    means = pd.read_csv(out / "listening_ratings.csv").set_index(["system", "attribute"])["mean"]
    assert means[("ours", "melody")] == pytest.approx(6.5) and means[("anchor", "melody")] == pytest.approx(2.5)
    assert "## Mean ratings (1-7)" in (out / "listening_summary.md").read_text()


def test_without_the_study_file_the_refusal_names_the_questions_and_the_option(tmp_path, capsys):
    _, export = _write_study(tmp_path)
    assert main(["analyze", str(export), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "rhythm_a" in err and "groove, melody" in err and "--study" in err


def test_an_export_of_another_study_is_refused(tmp_path, capsys):
    study, export = _write_study(tmp_path)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False).assign(study_id="other-lab")
    frame.to_csv(export, index=False)
    assert main(["analyze", str(export), "--study", str(study), "--out", str(tmp_path / "results")]) == 2
    assert "other-lab" in capsys.readouterr().err


def test_a_rating_outside_the_declared_scale_is_refused():
    ratings = {"melody_a": 8, "melody_b": 1, "groove_a": 1, "groove_b": 1}
    row = pd.DataFrame([_trial(0, 0, 0, "ours", "anchor", "A", ratings=ratings)])
    with pytest.raises(ExportError, match="'melody_a' must lie in 1-7"):
        validate_export(row, [RatingQuestion("melody", 1, 7), RatingQuestion("groove", 1, 7)])


def _offbeat_catch(chosen: str, groove_manipulated: int) -> pd.DataFrame:
    """An offbeat catch with the manipulated stimulus on B; the intact side A is rated groove 4."""
    ratings = {"melody_a": 4, "melody_b": 4, "groove_a": 4, "groove_b": groove_manipulated}
    row = _trial(0, 0, 0, "ours", "catch_offbeat", chosen, kind="offbeat", ratings=ratings)
    questions = [RatingQuestion("melody", 1, 7), RatingQuestion("groove", 1, 7)]
    return validate_export(pd.DataFrame([row | {"catch_expected": "A"}]), questions)


def test_an_offbeat_catch_without_a_rhythm_question_is_judged_by_the_preference():
    config, asked = ScreeningConfig(), ("melody", "groove")
    assert catch_failures(_offbeat_catch("B", 1), config, asked).tolist() == [True]
    assert catch_failures(_offbeat_catch("A", 7), config, asked).tolist() == [False]


def test_the_question_of_the_offbeat_rule_is_configurable():
    config = ScreeningConfig(offbeat_question="groove")
    assert catch_failures(_offbeat_catch("A", 7), config, ("melody", "groove")).tolist() == [True]
