"""No label leaks, security headers and cookies, rate limits, the admin pages."""

from __future__ import annotations

import base64
import csv
import io
import re

from listening_test.export import columns
from listening_test.study_file import ATTRIBUTES

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
SYSTEM_WORDS = ("ground_truth", "three_stage", "two_stage", "random", "catch_", "identical", "offbeat", "transposed",
                "item-0", "mixes", ".wav", "vocals")


def test_trial_page_and_script_name_no_system_item_or_file(participant):
    participant.ready_for_trials()
    page = participant.client.get("/trial")
    script = participant.client.get("/static/study.js").text
    text = (page.text + script).lower()
    assert not [w for w in SYSTEM_WORDS if w in text]


def test_audio_response_carries_no_identifying_header(participant):
    participant.ready_for_trials()
    token = participant.tokens("/trial")[0]
    r = participant.client.get(f"/audio/{token}")
    headers = " ".join(f"{k}: {v}" for k, v in r.headers.items()).lower()
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    assert not [w for w in SYSTEM_WORDS if w in headers]
    assert "ETag" not in r.headers and "Last-Modified" not in r.headers and "Content-Disposition" not in r.headers


def test_a_and_b_have_identical_sizes(participant):
    participant.ready_for_trials()
    a, b = participant.tokens("/trial")
    assert len(participant.client.get(f"/audio/{a}").data) == len(participant.client.get(f"/audio/{b}").data)


def test_tokens_differ_between_sessions_for_the_same_stimulus(new_participant, rows):
    for pid in ("P1", "P2"):
        new_participant(pid).start()
    refs = rows("SELECT ref, COUNT(DISTINCT token), COUNT(DISTINCT session_id) FROM audio_tokens"
                " WHERE kind = 'calibration' GROUP BY ref")
    assert refs[0][1] == 2 and refs[0][2] == 2


def test_security_headers_on_pages(participant):
    r = participant.start()
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite(app):
    r = app.test_client().get("/?PROLIFIC_PID=P1")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_have_no_inline_script(participant):
    participant.ready_for_trials()
    for url in ("/trial", "/static/study.js"):
        assert "<script>" not in participant.client.get(url).text


def test_rate_limit_answers_429(make_app, built_study):
    import dataclasses

    from listening_test.study_file import load_study

    sec = dataclasses.replace(load_study(built_study / "study.toml").security, requests_per_minute=20)
    client = make_app(security=sec).test_client()
    codes = [client.get("/static/style.css").status_code for _ in range(30)]
    assert codes[0] == 200 and codes[-1] == 429


def test_new_sessions_are_limited_per_ip(make_app, built_study):
    import dataclasses

    from listening_test.study_file import load_study

    sec = dataclasses.replace(load_study(built_study / "study.toml").security, new_sessions_per_hour=3)
    app = make_app(security=sec)
    codes = [app.test_client().get("/").status_code for _ in range(5)]
    assert codes == [302, 302, 302, 429, 429]


def test_admin_without_token_is_401(app):
    r = app.test_client().get("/admin/export.csv")
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]


def test_admin_with_wrong_token_is_401(app):
    r = app.test_client().get("/admin/export.csv", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_admin_pages_do_not_exist_without_a_configured_token(make_app):
    app = make_app()
    app.config["ADMIN_TOKEN"] = ""
    assert app.test_client().get("/admin/summary", headers={"Authorization": "Bearer x"}).status_code == 404


def test_export_csv_has_the_documented_columns_and_one_row_per_judgment(participant, rows):
    participant.ready_for_trials()
    for k in range(2):
        participant.play_current()
        participant.answer(k, preference="B")
    r = participant.client.get("/admin/export.csv", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(table[0]) == columns(ATTRIBUTES) and len(table) == 2
    stored = rows("SELECT t.system_b FROM judgments j JOIN trials t USING (session_id, position) ORDER BY position")
    assert [row["preferred_system"] for row in table] == [s[0] for s in stored]


def test_admin_summary_accepts_basic_auth(participant):
    participant.start()
    auth = base64.b64encode(f"admin:{ADMIN_TOKEN}".encode()).decode()
    r = participant.client.get("/admin/summary", headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 200 and re.search(r"Sessions 1\b", r.text)


def test_participant_pages_never_link_to_admin(participant):
    participant.ready_for_trials()
    assert "/admin" not in participant.client.get("/trial").text


def test_export_passes_the_analysis_contract(participant):
    """The server's CSV is what ``listening_test.analysis`` reads (its validator accepts it)."""
    import pandas as pd

    from listening_test.analysis.schema import validate_export

    participant.ready_for_trials()
    n = 0
    while "form id=\"answer\"" in participant.client.get("/trial").text:
        participant.answer(participant.play_current(), preference="A" if n % 2 else "B")
        n += 1
    r = participant.client.get("/admin/export.csv", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    df = validate_export(pd.read_csv(io.StringIO(r.text), keep_default_na=False))
    assert len(df) == n and df["is_catch"].sum() == 3
