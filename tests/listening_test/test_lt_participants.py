"""The study owner's revoke and withdraw (``listening_test participant``)."""

from __future__ import annotations

import shutil

import pytest

from listening_test import create_app, participants
from listening_test.cli import main
from listening_test.db import connect


@pytest.fixture
def owner_db(app):
    db = connect(app.config["DATABASE"])
    yield db
    db.close()


@pytest.fixture
def session_of(app, owner_db):
    """``session_of(pid)``: the session row of a platform id, as the owner's command finds it."""
    study_id = app.extensions["study"].study.study_id
    return lambda pid: participants.find_session(owner_db, study_id, "test-secret", participant=pid)


@pytest.fixture
def revoked(participant, owner_db, session_of):
    """``participant`` at trial 1 with one answer stored, then revoked."""
    participant.ready_for_trials()
    participant.play_current()
    assert participant.answer(0).status_code == 200
    participants.revoke(owner_db, session_of(participant.pid), 1)
    return participant


def test_a_revoked_session_gets_403_on_pages_and_answers(revoked, rows):
    assert revoked.client.get("/trial").status_code == 403
    assert revoked.answer(1).status_code == 403
    assert rows("SELECT COUNT(*) FROM judgments")[0][0] == 1  # kept


def test_a_revoked_session_gets_no_audio(revoked, rows):
    token = rows("SELECT token_a FROM trials WHERE position = 1")[0][0]
    assert revoked.client.get(f"/audio/{token}").status_code == 404


def test_the_revoked_participants_link_is_refused_in_a_new_browser(revoked, new_participant, rows):
    r = new_participant(revoked.pid).client.get(f"/?PROLIFIC_PID={revoked.pid}")
    assert r.status_code == 403 and rows("SELECT COUNT(*) FROM sessions")[0][0] == 1


def test_withdraw_deletes_the_session_and_keeps_others(participant, new_participant, owner_db, session_of, rows):
    participant.ready_for_trials()
    participant.play_current()
    participant.answer(0)
    other = new_participant("PID_other")
    other.start()
    gone = participants.withdraw(owner_db, session_of(participant.pid), 1, "asked by e-mail")
    assert gone["judgments"] == 1 and gone["sessions"] == 1
    assert rows("SELECT COUNT(*) FROM sessions")[0][0] == 1
    orphans = "SELECT COUNT(*) FROM audio_tokens WHERE session_id NOT IN (SELECT session_id FROM sessions)"
    assert rows(orphans)[0][0] == 0


def test_a_withdrawn_link_cannot_start_over(participant, new_participant, owner_db, session_of, rows):
    participant.start()
    participants.withdraw(owner_db, session_of(participant.pid), 1)
    r = new_participant(participant.pid).client.get(f"/?PROLIFIC_PID={participant.pid}")
    assert r.status_code == 403 and rows("SELECT COUNT(*) FROM sessions")[0][0] == 0


def test_new_participants_after_a_withdrawal_get_the_next_design_row(new_participant, owner_db, session_of, rows):
    for pid in ("P0", "P1", "P2"):
        new_participant(pid).start()
    participants.withdraw(owner_db, session_of("P1"), 1)
    assert new_participant("P3").client.get("/?PROLIFIC_PID=P3").status_code == 302
    assert sorted(r[0] for r in rows("SELECT plan_index FROM sessions")) == [0, 2, 3]


def test_a_shared_completion_code_is_refused_as_ambiguous(make_app):
    app = make_app(completion_code="FIXED")
    for pid in ("P0", "P1"):
        app.test_client().get(f"/?PROLIFIC_PID={pid}")
    db = connect(app.config["DATABASE"])
    with pytest.raises(participants.ParticipantError, match="share that completion code"):
        participants.find_session(db, app.extensions["study"].study.study_id, "test-secret", code="FIXED")
    db.close()


def test_cli_revokes_by_completion_code(built_study, tmp_path, monkeypatch, capsys):
    study = tmp_path / "study"
    shutil.copytree(built_study, study, ignore=shutil.ignore_patterns("*.sqlite*", ".secret_key"))
    monkeypatch.setenv("LISTENING_TEST_SECRET_KEY", "cli-secret")
    app = create_app({"STUDY": study / "study.toml"})
    app.test_client().get("/?PROLIFIC_PID=P_cli")
    code = connect(app.config["DATABASE"]).execute("SELECT completion_code FROM sessions").fetchone()[0]
    assert main(["participant", "--study", str(study / "study.toml"), "--code", code, "--revoke"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert app.test_client().get("/?PROLIFIC_PID=P_cli").status_code == 403
