"""The requests of issue 12, each as a hostile client sent them: every one gets a clear 4xx and
leaves the database as it was (or, for playback, earns no credit)."""

from __future__ import annotations

import json

import pytest

RATINGS = {"A": {"rhythm": 4, "harmony": 3, "coherence": 5}, "B": {"rhythm": 2, "harmony": 1, "coherence": 3}}
ANSWER = {"trial": 0, "preference": "A", "ratings": RATINGS}


@pytest.fixture
def ready(participant):
    """A participant at trial 0 with both clips played."""
    participant.ready_for_trials()
    participant.play_current()
    return participant


def count(rows, table: str) -> int:
    return rows(f"SELECT COUNT(*) FROM {table}")[0][0]


def post_chunked(client, url: str, body: bytes, content_type: str, csrf: str):
    """POST with ``Transfer-Encoding: chunked`` and no usable Content-Length, as gunicorn hands a
    chunked request to the app (``wsgi.input_terminated``)."""
    return client.post(url, data=body, content_type=content_type,
                       headers={"Transfer-Encoding": "chunked", "X-CSRF-Token": csrf},
                       environ_overrides={"wsgi.input_terminated": True})


@pytest.mark.parametrize("origin", ["http://[::1", "http://[", "://", "http://localhost:99999999999"])
def test_unparsable_origin_on_the_answer_api_is_403(ready, rows, origin):
    r = ready.client.post("/api/answer", json=ANSWER, headers={"X-CSRF-Token": ready.csrf, "Origin": origin})
    assert r.status_code == 403 and count(rows, "judgments") == 0


def test_unparsable_origin_on_the_consent_form_is_403(participant, rows):
    participant.start()
    r = participant.client.post("/consent", data={"csrf_token": participant.csrf, "agree": "yes"},
                                headers={"Origin": "http://[::1"})
    assert r.status_code == 403 and rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_unparsable_origin_on_the_setup_form_is_403(participant, rows):
    participant.start()
    participant.consent()
    r = participant.client.post("/setup", data={"csrf_token": participant.csrf}, headers={"Origin": "http://[::1"})
    assert r.status_code == 403 and rows("SELECT setup_ms FROM sessions")[0][0] is None


def test_same_host_origin_with_a_path_is_403(ready, rows):
    origin = "http://localhost/evil"  # a browser never sends a path; a forged header might
    r = ready.client.post("/api/answer", json=ANSWER, headers={"X-CSRF-Token": ready.csrf, "Origin": origin})
    assert r.status_code == 403 and count(rows, "judgments") == 0


def test_own_origin_is_accepted(ready, rows):
    r = ready.client.post("/api/answer", json=ANSWER,
                          headers={"X-CSRF-Token": ready.csrf, "Origin": "http://localhost"})
    assert r.status_code == 200 and count(rows, "judgments") == 1


@pytest.mark.parametrize("url", ["/api/answer", "/api/playback"])
def test_deeply_nested_json_under_the_size_cap_is_400(ready, rows, url):
    body = '{"trial": ' + "[" * 3000 + "]" * 3000 + "}"
    r = ready.client.post(url, data=body, content_type="application/json", headers={"X-CSRF-Token": ready.csrf})
    assert r.status_code == 400 and count(rows, "judgments") == 0


def test_participant_id_with_a_trailing_newline_is_400_and_opens_no_session(app, rows):
    assert app.test_client().get("/?PROLIFIC_PID=X").status_code == 302
    r = app.test_client().get("/?PROLIFIC_PID=X%0A")
    assert r.status_code == 400 and count(rows, "sessions") == 1


@pytest.mark.parametrize("param", ["STUDY_ID", "SESSION_ID"])
@pytest.mark.parametrize("value", ["abc%00def", "a%0A", "x" * 65, "<b>"])
def test_bad_platform_study_or_session_id_is_400_and_stores_nothing(app, rows, param, value):
    r = app.test_client().get(f"/?PROLIFIC_PID=P1&{param}={value}")
    assert r.status_code == 400 and count(rows, "sessions") == 0


def test_chunked_answer_over_the_cap_is_413_even_when_its_first_8_kib_parse(ready, rows):
    body = json.dumps(ANSWER).encode() + b" " * 9000  # cut at 8 KiB it is still a valid answer
    r = post_chunked(ready.client, "/api/answer", body, "application/json", ready.csrf)
    assert r.status_code == 413 and count(rows, "judgments") == 0


def test_chunked_answer_under_the_cap_is_accepted(ready, rows):
    r = post_chunked(ready.client, "/api/answer", json.dumps(ANSWER).encode(), "application/json", ready.csrf)
    assert r.status_code == 200 and count(rows, "judgments") == 1


def test_chunked_consent_form_over_the_cap_is_413(participant, rows):
    participant.start()
    body = f"csrf_token={participant.csrf}&agree=yes&pad={'x' * 9000}".encode()
    r = post_chunked(participant.client, "/consent", body, "application/x-www-form-urlencoded", participant.csrf)
    assert r.status_code == 413 and rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_form_with_more_fields_than_max_form_parts_is_413(participant, rows):
    participant.start()
    limit = participant.app.config["MAX_FORM_PARTS"]
    form = {"csrf_token": participant.csrf, "agree": "yes", **{f"f{k}": "1" for k in range(limit)}}
    r = participant.client.post("/consent", data=form)
    assert r.status_code == 413 and rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_form_with_an_unknown_field_is_422(participant, rows):
    participant.start()
    r = participant.client.post("/consent", data={"csrf_token": participant.csrf, "agree": "yes", "admin": "1"})
    assert r.status_code == 422 and rows("SELECT consent_ms FROM sessions")[0][0] is None


def test_multipart_form_is_415(participant, rows):
    participant.start()
    r = participant.client.post("/consent", data={"csrf_token": participant.csrf, "agree": "yes"},
                                content_type="multipart/form-data")
    assert r.status_code == 415 and rows("SELECT consent_ms FROM sessions")[0][0] is None


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/vnd.api+json", "application/json; charset=latin-1"])
def test_answer_with_another_content_type_is_415(ready, rows, content_type):
    r = ready.client.post("/api/answer", data=json.dumps(ANSWER), content_type=content_type,
                          headers={"X-CSRF-Token": ready.csrf})
    assert r.status_code == 415 and count(rows, "judgments") == 0


def test_answer_with_a_duplicated_key_is_400(ready, rows):
    body = '{"trial": 0, "trial": 0, "preference": "A", "ratings": ' + json.dumps(RATINGS) + "}"
    r = ready.client.post("/api/answer", data=body, content_type="application/json",
                          headers={"X-CSRF-Token": ready.csrf})
    assert r.status_code == 400 and count(rows, "judgments") == 0


def test_answer_that_is_not_utf8_is_400(ready, rows):
    body = json.dumps(ANSWER).encode().replace(b'"A"', b'"\xff"', 1)
    r = ready.client.post("/api/answer", data=body, content_type="application/json",
                          headers={"X-CSRF-Token": ready.csrf})
    assert r.status_code == 400 and count(rows, "judgments") == 0


def test_csrf_token_in_a_json_api_form_field_is_not_accepted(ready, rows):
    # The API takes its token from the header only: no form parsing on JSON routes.
    r = ready.client.post("/api/answer", data={"csrf_token": ready.csrf})
    assert r.status_code == 403 and count(rows, "judgments") == 0


def start_play(p, token: str) -> None:
    assert p.client.get(f"/audio/{token}").status_code == 200
    assert p.post_json("/api/playback", {"token": token, "event": "play", "position_ms": 0}).status_code == 200


def ended(p, token: str, **fields):
    return p.post_json("/api/playback", {"token": token, "event": "ended", **fields})


def plays(rows, token: str) -> int:
    return rows("SELECT plays_completed FROM audio_tokens WHERE token = ?", (token,))[0][0]


@pytest.fixture
def played(participant, clock):
    """(participant, token): the first clip of trial 0 started and its full duration passed."""
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    start_play(participant, token)
    clock.advance(2000)
    return participant, token


def test_ended_refused_for_coverage_cannot_be_resent_without_coverage(played, rows):
    participant, token = played
    assert ended(participant, token, position_ms=1000, coverage=0.5).status_code == 409
    assert ended(participant, token, position_ms=1000).status_code == 422
    assert plays(rows, token) == 0


def test_a_refused_ended_ends_the_run_so_a_corrected_resend_is_refused_too(played, rows):
    participant, token = played
    assert ended(participant, token, position_ms=1000, coverage=0.5).status_code == 409
    assert ended(participant, token, position_ms=1000, coverage=1.0).status_code == 409
    assert plays(rows, token) == 0


def test_ended_without_position_is_422(played, rows):
    participant, token = played
    assert ended(participant, token, coverage=1.0).status_code == 422 and plays(rows, token) == 0


def test_ended_reporting_a_position_short_of_the_clip_is_409(played, rows):
    participant, token = played
    assert ended(participant, token, position_ms=200, coverage=1.0).status_code == 409 and plays(rows, token) == 0


def test_overlapping_playback_of_a_and_b_credits_only_the_last_started(participant, clock, rows):
    participant.ready_for_trials()
    a, b = participant.tokens("/trial")
    start_play(participant, a)
    start_play(participant, b)  # B starts while A is still playing: A's run is over
    clock.advance(1100)
    assert ended(participant, a, position_ms=1000, coverage=1.0).status_code == 409
    assert ended(participant, b, position_ms=1000, coverage=1.0).status_code == 200
    assert (plays(rows, a), plays(rows, b)) == (0, 1)
    assert participant.answer(0).status_code == 409 and count(rows, "judgments") == 0


def test_pause_and_resume_of_the_same_clip_still_counts(participant, clock, rows):
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    start_play(participant, token)
    clock.advance(400)
    assert participant.post_json("/api/playback", {"token": token, "event": "pause",
                                                   "position_ms": 400}).status_code == 200
    assert participant.post_json("/api/playback", {"token": token, "event": "play",
                                                   "position_ms": 400}).status_code == 200
    clock.advance(700)
    assert ended(participant, token, position_ms=1000, coverage=1.0).status_code == 200 and plays(rows, token) == 1


def test_identical_catch_trial_plays_files_equal_in_sound_but_not_in_bytes(participant, rows):
    import io

    import numpy as np
    import soundfile as sf

    participant.ready_for_trials()
    pos = rows("SELECT position FROM trials WHERE catch_kind = 'identical'")[0][0]
    for k in range(pos):
        participant.play_current()
        assert participant.answer(k).status_code == 200
    a, b = (participant.client.get(f"/audio/{t}").data for t in participant.tokens("/trial"))
    assert len(a) == len(b) and a != b
    xa, xb = (sf.read(io.BytesIO(d), dtype="int32")[0] >> 16 for d in (a, b))
    # Aligned by the sub-audible offset, the two differ only by dither (a few LSB of 16 bits).
    best = min(int(np.abs(xa[max(0, s):len(xa) + min(0, s)] - xb[max(0, -s):len(xb) + min(0, -s)]).max())
               for s in range(-4, 5))
    assert best <= 4
