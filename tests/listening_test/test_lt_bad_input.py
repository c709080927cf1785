"""Tampered and malformed requests: the right 4xx, nothing stored wrongly, nothing lost."""

from __future__ import annotations

import json

import pytest

from listening_test import store
from listening_test.db import connect
from listening_test.study_file import StudyConfig
from listening_test.validation import parse_answer

RATINGS = {"A": {"rhythm": 4, "harmony": 3, "coherence": 5}, "B": {"rhythm": 2, "harmony": 1, "coherence": 3}}


@pytest.fixture
def ready(participant):
    """A participant at trial 0 with both clips played."""
    participant.ready_for_trials()
    participant.play_current()
    return participant


def judgments(rows) -> int:
    return rows("SELECT COUNT(*) FROM judgments")[0][0]


def test_malformed_json_is_400_and_stores_nothing(ready, rows):
    r = ready.client.post("/api/answer", data="{not json", content_type="application/json",
                          headers={"X-CSRF-Token": ready.csrf})
    assert r.status_code == 400 and judgments(rows) == 0


def test_json_array_is_400(ready, rows):
    assert ready.post_json("/api/answer", [1, 2]).status_code == 400 and judgments(rows) == 0


def test_missing_csrf_token_is_403(ready, rows):
    r = ready.client.post("/api/answer", json={"trial": 0, "preference": "A", "ratings": RATINGS})
    assert r.status_code == 403 and judgments(rows) == 0


def test_forged_csrf_token_is_403(ready, rows):
    assert ready.answer(0).status_code == 200  # sanity: the real token works
    r = ready.post_json("/api/answer", {"trial": 1, "preference": "A", "ratings": RATINGS}, csrf="x" * 22)
    assert r.status_code == 403 and judgments(rows) == 1


def test_another_sessions_csrf_token_is_403(ready, new_participant, rows):
    other = new_participant("PID_other")
    other.start()
    r = ready.post_json("/api/answer", {"trial": 0, "preference": "A", "ratings": RATINGS}, csrf=other.csrf)
    assert r.status_code == 403 and judgments(rows) == 0


def test_consent_form_without_csrf_is_403(participant, rows):
    participant.start()
    r = participant.client.post("/consent", data={"agree": "yes"})
    assert r.status_code == 403 and rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_cross_origin_post_is_403(ready, rows):
    r = ready.client.post("/api/answer", json={"trial": 0, "preference": "A", "ratings": RATINGS},
                          headers={"X-CSRF-Token": ready.csrf, "Origin": "https://evil.example"})
    assert r.status_code == 403 and judgments(rows) == 0


@pytest.mark.parametrize("bad", [0, 6, -1, 3.5, "4", True, None])
def test_out_of_range_or_mistyped_rating_is_422(ready, rows, bad):
    ratings = json.loads(json.dumps(RATINGS))
    ratings["B"]["harmony"] = bad
    assert ready.answer(0, ratings=ratings).status_code == 422 and judgments(rows) == 0


@pytest.mark.parametrize("body", [
    {"trial": 0, "preference": "C", "ratings": RATINGS},
    {"trial": 0, "preference": "A"},
    {"trial": 0, "preference": "A", "ratings": RATINGS, "extra": 1},
    {"trial": 0, "preference": "A", "ratings": {"A": RATINGS["A"]}},
    {"trial": 0, "preference": "A", "ratings": {"A": RATINGS["A"], "B": {"rhythm": 1}}},
    {"trial": 999, "preference": "A", "ratings": RATINGS},
    {"trial": "0", "preference": "A", "ratings": RATINGS},
])
def test_invalid_answer_shapes_are_422(ready, rows, body):
    assert ready.post_json("/api/answer", body).status_code == 422 and judgments(rows) == 0


def test_answer_before_any_playback_is_409(participant, rows):
    participant.ready_for_trials()
    assert participant.answer(0).status_code == 409 and judgments(rows) == 0


def test_answer_with_only_one_clip_played_is_409(participant, rows):
    participant.ready_for_trials()
    token_a = participant.tokens("/trial")[0]
    participant.fetch_and_play(token_a, 1000)
    assert participant.answer(0).status_code == 409 and judgments(rows) == 0


def test_ended_sooner_than_the_clip_is_refused(participant, clock, rows):
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    participant.client.get(f"/audio/{token}")
    participant.post_json("/api/playback", {"token": token, "event": "play", "position_ms": 0})
    clock.advance(300)  # a 1 s clip cannot have ended after 0.3 s
    r = participant.post_json("/api/playback", {"token": token, "event": "ended", "position_ms": 1000,
                                                "coverage": 1.0})
    assert r.status_code == 409
    assert rows("SELECT plays_completed FROM audio_tokens WHERE token = ?", (token,))[0][0] == 0


def test_ended_without_fetching_the_audio_is_refused(participant, clock):
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    participant.post_json("/api/playback", {"token": token, "event": "play", "position_ms": 0})
    clock.advance(5000)
    r = participant.post_json("/api/playback", {"token": token, "event": "ended", "position_ms": 1000,
                                                "coverage": 1.0})
    assert r.status_code == 409


def test_skipped_parts_are_refused(participant, clock):
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    participant.client.get(f"/audio/{token}")
    participant.post_json("/api/playback", {"token": token, "event": "play", "position_ms": 0})
    clock.advance(2000)
    r = participant.post_json("/api/playback", {"token": token, "event": "ended", "position_ms": 1000,
                                                "coverage": 0.5})
    assert r.status_code == 409


def test_replayed_identical_submission_is_acknowledged_once(ready, rows):
    first, again = ready.answer(0), ready.answer(0)
    assert first.status_code == 200 and again.status_code == 200 and again.json["duplicate"] is True
    assert judgments(rows) == 1
    assert rows("SELECT next_trial FROM sessions")[0][0] == 1


def test_replayed_different_submission_is_409_and_keeps_the_first(ready, rows):
    ready.answer(0, preference="A")
    assert ready.answer(0, preference="B").status_code == 409
    assert rows("SELECT preference FROM judgments")[0][0] == "A"


def test_answering_a_future_trial_is_409(ready, rows):
    assert ready.answer(1).status_code == 409 and judgments(rows) == 0


def test_another_sessions_audio_is_404(ready, new_participant):
    other = new_participant("PID_other")
    other.ready_for_trials()
    foreign = ready.tokens("/trial")[0]
    assert other.client.get(f"/audio/{foreign}").status_code == 404
    r = other.post_json("/api/playback", {"token": foreign, "event": "play", "position_ms": 0})
    assert r.status_code == 404


def test_unknown_event_is_422(ready):
    token = ready.tokens("/trial")[0]
    assert ready.post_json("/api/playback", {"token": token, "event": "seek", "position_ms": 0}).status_code == 422


def test_oversized_body_is_413(ready, rows):
    body = {"trial": 0, "preference": "A", "ratings": RATINGS, "pad": "x" * 20000}
    assert ready.post_json("/api/answer", body).status_code == 413 and judgments(rows) == 0


def test_api_without_a_session_is_403(app):
    r = app.test_client().post("/api/answer", json={"trial": 0})
    assert r.status_code == 403


def test_invalid_platform_id_is_400(app, rows):
    assert app.test_client().get("/?PROLIFIC_PID=<script>").status_code == 400
    assert rows("SELECT COUNT(*) FROM sessions")[0][0] == 0


class CrashingConnection:
    """Proxy whose session update fails, as a crash between the two writes of an answer would."""

    def __init__(self, db):
        self.db = db

    def execute(self, sql, *args):
        if sql.startswith("UPDATE sessions SET next_trial"):
            raise RuntimeError("simulated crash")
        return self.db.execute(sql, *args)


def test_failed_write_leaves_no_half_trial(ready, rows, app):
    db = connect(app.config["DATABASE"])
    answer = parse_answer({"trial": 0, "preference": "A", "ratings": RATINGS}, 10, StudyConfig().questions)
    with pytest.raises(RuntimeError):
        store.record_answer(CrashingConnection(db), rows("SELECT session_id FROM sessions")[0][0], answer, 1)
    db.close()
    assert judgments(rows) == 0 and rows("SELECT next_trial FROM sessions")[0][0] == 0
