"""A whole session through the Flask test client: pages, resume, storage, completion."""

from __future__ import annotations

import json
import re


def test_start_redirects_to_consent_and_hides_platform_id(participant):
    r = participant.client.get("/?PROLIFIC_PID=PID_alpha_01")
    assert r.status_code == 302 and r.headers["Location"] == "/consent"


def test_platform_ids_are_stored_only_hashed(app, rows):
    app.test_client().get("/?PROLIFIC_PID=PID_alpha_01&STUDY_ID=study42&SESSION_ID=attempt_secret_9")
    row = rows("SELECT * FROM sessions")[0]
    stored = " ".join(str(v) for v in tuple(row))
    assert "PID_alpha_01" not in stored and "attempt_secret_9" not in stored
    assert len(row["platform_id_hash"]) == 64 and row["platform_study"] == "study42"


def test_no_configured_study_is_503(tmp_path, monkeypatch):
    from listening_test import create_app

    monkeypatch.delenv("LISTENING_TEST_STUDY", raising=False)
    app = create_app({"DATABASE": str(tmp_path / "none.sqlite"), "SECRET_KEY": "k"})
    assert app.test_client().get("/").status_code == 503


def test_complete_session_stores_every_answer(rows, participant):
    participant.ready_for_trials()
    n = rows("SELECT n_trials FROM sessions")[0][0]
    for k in range(n):
        assert participant.play_current() == k
        r = participant.answer(k, preference="B")
        assert r.status_code == 200 and r.json["progress"] == k + 1
    done = participant.client.get("/done")
    code = re.search(r'id="completion-code">([^<]+)<', done.text).group(1)
    stored = [(r[0], json.loads(r[1])) for r in rows("SELECT preference, ratings FROM judgments")]
    want = {"rhythm_a": 4, "harmony_a": 3, "coherence_a": 5, "rhythm_b": 2, "harmony_b": 1, "coherence_b": 3}
    assert len(stored) == n and all(r == ("B", want) for r in stored)
    assert rows("SELECT completion_code FROM sessions")[0][0] == code


def test_every_page_redirects_to_the_current_step(participant):
    participant.start()
    assert participant.client.get("/trial").headers["Location"] == "/consent"
    participant.consent()
    assert participant.client.get("/consent").headers["Location"] == "/setup"
    assert participant.client.get("/done").headers["Location"] == "/setup"


def test_same_link_resumes_in_a_new_browser(rows, new_participant, participant):
    participant.ready_for_trials()
    for k in range(2):
        participant.play_current()
        participant.answer(k)
    again = new_participant("PID_alpha_01")
    r = again.client.get("/?PROLIFIC_PID=PID_alpha_01")
    assert r.headers["Location"] == "/trial"
    assert 'data-trial="2"' in again.client.get("/trial").text
    assert rows("SELECT COUNT(*) FROM sessions")[0][0] == 1


def test_reload_keeps_the_same_trial_and_tokens(participant):
    participant.ready_for_trials()
    first = participant.tokens("/trial")
    assert participant.tokens("/trial") == first
    assert participant.client.get("/").headers["Location"] == "/trial"


def test_consent_without_the_box_is_refused(rows, participant):
    participant.start()
    r = participant.client.post("/consent", data={"csrf_token": participant.csrf})
    assert r.status_code == 422
    assert rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_setup_needs_volume_clip_and_headphone_answers(rows, participant):
    participant.start()
    participant.consent()
    r = participant.client.post("/setup", data={"csrf_token": participant.csrf})
    assert r.status_code == 409
    assert participant.do_setup().headers["Location"] == "/trial"


def test_headphone_answer_before_playing_is_refused(participant):
    participant.start()
    participant.consent()
    r = participant.post_json("/api/headphone", {"trial": 0, "answer": 2})
    assert r.status_code == 409


def test_headphone_score_is_counted_against_the_hidden_order(rows, participant):
    participant.start()
    participant.consent()
    correct = [r[0] for r in rows("SELECT correct FROM screening ORDER BY position")]
    participant.do_setup(answers=correct)
    stored = rows("SELECT COUNT(*) FROM screening WHERE answer = correct")[0][0]
    assert stored == len(correct)


def test_catch_trials_are_in_every_plan(rows, participant):
    participant.start()
    kinds = {r[0] for r in rows("SELECT catch_kind FROM trials")}
    assert kinds == {"", "identical", "offbeat", "transposed"}


def test_sessions_rotate_through_the_latin_square(rows, new_participant):
    for k in range(3):
        new_participant(f"P{k}").start()
    cells = rows("SELECT s.plan_index, t.item, t.pair_x, t.pair_y FROM trials t JOIN sessions s"
                         " ON s.session_id = t.session_id WHERE t.catch_kind = ''")
    per_item = {}
    for _, item, x, y in cells:
        per_item.setdefault(item, set()).add((x, y))
    assert all(len(pairs) == 3 for pairs in per_item.values())
