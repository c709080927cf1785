"""Export of the judgments: one CSV row per answered trial (regular and catch).

Columns, in order (times are ISO 8601 UTC with milliseconds; empty = not applicable):

=====================  ==========================================================================
study_id               study identifier from the study file
rater_id               HMAC-SHA256 of the crowd-platform id (or of the session, if anonymous)
session_id             HMAC-SHA256 of the session id (pseudonymous; one per study attempt)
plan_index             participant's row in the counterbalancing design (0, 1, 2, ...)
trial_index            0-based position of the trial in the session
item                   vocal id (manifest item id)
system_a               stimulus played as A (a manifest system, or catch_identical/_offbeat/_transposed)
system_b               stimulus played as B
pair_x                 first system of the compared pair in the study's order (catch: base system)
pair_y                 second system of the pair (catch: the catch stimulus, e.g. catch_identical)
x_side                 "A" or "B": the side on which pair_x was played
is_catch               1 for catch trials, else 0
catch_kind             "", "identical", "offbeat" or "transposed"
catch_expected         side holding the intact accompaniment for offbeat/transposed, else ""
preference             "A" or "B" (forced choice)
preferred_system       the stimulus name on the preferred side
chose_x                1 if pair_x was preferred, else 0
ID_a ..., ID_b ...     the ratings of A, then of B, one column per question of the study file, in its
                       order (default: rhythm_a, harmony_a, coherence_a, rhythm_b, harmony_b,
                       coherence_b, 1-5)
plays_a, plays_b       complete, server-verified plays of A and B before the answer
shown_at               when the trial page was first served
answered_at            when the answer was stored
response_ms            answered_at - shown_at in milliseconds
headphone_correct      correct answers in the headphone screening (of headphone_trials)
headphone_trials       screening trials in the session
headphone_passed       1 if headphone_correct >= the study's pass_threshold
session_completed      1 if the participant reached the final page
=====================  ==========================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import IO, Any

from .security import keyed_hash
from .study_file import StudyConfig

LEADING_COLUMNS = (
    "study_id", "rater_id", "session_id", "plan_index", "trial_index", "item", "system_a", "system_b",
    "pair_x", "pair_y", "x_side", "is_catch", "catch_kind", "catch_expected", "preference", "preferred_system",
    "chose_x",
)
TRAILING_COLUMNS = (
    "plays_a", "plays_b", "shown_at", "answered_at", "response_ms", "headphone_correct", "headphone_trials",
    "headphone_passed", "session_completed",
)


def columns(question_ids: Sequence[str]) -> tuple[str, ...]:
    """The CSV header for a study asking ``question_ids``."""
    ratings = tuple(f"{q}_{side}" for side in "ab" for q in question_ids)
    return LEADING_COLUMNS + ratings + TRAILING_COLUMNS

QUERY = """
SELECT s.study_id, s.rater_hash, s.session_id, s.plan_index, s.completed_ms,
       t.position, t.item, t.system_a, t.system_b, t.pair_x, t.pair_y, t.catch_kind, t.shown_ms,
       j.preference, j.ratings, j.plays_a, j.plays_b, j.answered_ms,
       (SELECT COUNT(*) FROM screening c WHERE c.session_id = s.session_id AND c.answer = c.correct) AS hp_correct,
       (SELECT COUNT(*) FROM screening c WHERE c.session_id = s.session_id) AS hp_trials
FROM judgments j
JOIN trials t ON t.session_id = j.session_id AND t.position = j.position
JOIN sessions s ON s.session_id = j.session_id
WHERE s.study_id = ?
ORDER BY s.plan_index, t.position
"""


def iso_ms(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row(r: sqlite3.Row, secret: str, pass_threshold: int) -> dict[str, Any]:
    x_side = "A" if r["system_a"] == r["pair_x"] else "B"
    preferred = r["system_a"] if r["preference"] == "A" else r["system_b"]
    expected = ""
    if r["catch_kind"] in ("offbeat", "transposed"):
        expected = x_side  # pair_x is the intact base system
    return {
        "study_id": r["study_id"], "rater_id": r["rater_hash"],
        "session_id": keyed_hash(secret, f"export:{r['session_id']}")[:32],
        "plan_index": r["plan_index"], "trial_index": r["position"], "item": r["item"],
        "system_a": r["system_a"], "system_b": r["system_b"], "pair_x": r["pair_x"], "pair_y": r["pair_y"],
        "x_side": x_side, "is_catch": int(bool(r["catch_kind"])), "catch_kind": r["catch_kind"],
        "catch_expected": expected, "preference": r["preference"], "preferred_system": preferred,
        "chose_x": int(r["preference"] == x_side),
        **json.loads(r["ratings"]), "plays_a": r["plays_a"], "plays_b": r["plays_b"],
        "shown_at": iso_ms(r["shown_ms"]), "answered_at": iso_ms(r["answered_ms"]),
        "response_ms": "" if r["shown_ms"] is None else r["answered_ms"] - r["shown_ms"],
        "headphone_correct": r["hp_correct"], "headphone_trials": r["hp_trials"],
        "headphone_passed": int(r["hp_correct"] >= pass_threshold),
        "session_completed": int(r["completed_ms"] is not None),
    }


def export_rows(db: sqlite3.Connection, study_id: str, secret: str, pass_threshold: int) -> Iterator[dict[str, Any]]:
    for r in db.execute(QUERY, (study_id,)):
        yield _row(r, secret, pass_threshold)


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str], question_ids: Sequence[str]) -> int:
    """Write the header and ``rows``; returns the number of data rows. An answer stored under
    other questions (the study file changed during the study) raises ``ValueError`` rather than
    losing its ratings."""
    writer = csv.DictWriter(out, fieldnames=columns(question_ids), lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def csv_text(db: sqlite3.Connection, study: StudyConfig, secret: str) -> str:
    """The export of ``study`` (its id, questions and headphone pass threshold) as CSV text."""
    buf = io.StringIO()
    rows = export_rows(db, study.study_id, secret, study.screening.pass_threshold)
    write_csv(rows, buf, [q.id for q in study.questions])
    return buf.getvalue()
