"""Everything the study writes, each as one all-or-nothing transaction.

Answers (judgments, headphone answers) commit durably (fsync before the acknowledgement);
everything else (session creation, consent/setup/completion stamps, playback events) commits
without its own fsync: it survives a killed server, and the participant's next answer makes it
durable too, since syncing the WAL syncs every earlier commit.

Every answer is stored the moment it is given. A repeated submission of the same answer is
acknowledged again without a second row; a different answer to an already answered question is
refused (409) and the first one kept. Whether a clip was played to the end is decided in
``playback.py``, on the server clock.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import time
from typing import Any

from werkzeug.exceptions import Conflict, Forbidden, NotFound

from .db import write_transaction
from .plan import headphone_plan, session_plan
from .security import keyed_hash
from .validation import Answer


def now_ms() -> int:
    return int(time.time() * 1000)


def new_token() -> str:
    return secrets.token_urlsafe(16)


REVOKED = "the study team has ended this participation"


def find_session(db: sqlite3.Connection, session_id: str | None) -> sqlite3.Row | None:
    """The session row, with ``revoked`` 1 if the study owner revoked its participant."""
    if not session_id:
        return None
    return db.execute(
        "SELECT s.*, EXISTS (SELECT 1 FROM revoked r WHERE r.study_id = s.study_id AND r.rater_hash = s.rater_hash)"
        " AS revoked FROM sessions s WHERE s.session_id = ?", (session_id,)).fetchone()


def step(row: sqlite3.Row) -> str:
    """Where the participant is: consent, setup, trial or done."""
    if row["consent_ms"] is None:
        return "consent"
    if row["setup_ms"] is None:
        return "setup"
    return "trial" if row["next_trial"] < row["n_trials"] else "done"


def _add_token(db: sqlite3.Connection, session_id: str, kind: str, ref: str, duration_ms: int) -> str:
    token = new_token()
    db.execute(
        "INSERT INTO audio_tokens (token, session_id, kind, ref, duration_ms) VALUES (?, ?, ?, ?, ?)",
        (token, session_id, kind, ref, duration_ms),
    )
    return token


def _insert_plan(db: sqlite3.Connection, ctx: Any, session_id: str, k: int, rng: random.Random) -> int:
    study, manifest = ctx.study, ctx.manifest
    trials = session_plan([it.id for it in manifest.items], study.pairs, study.catch, manifest.catch_base,
                          ctx.catch_items, k, study.items_per_session)
    for pos, t in enumerate(trials):
        item = manifest.item(t.item)
        tokens = []
        for system in (t.system_a, t.system_b):
            stim = item.stimuli[system]
            ref = str(stim.path.relative_to(manifest.root))
            tokens.append(_add_token(db, session_id, "trial", ref, round(stim.duration_s * 1000)))
        db.execute(
            "INSERT INTO trials (session_id, position, item, system_a, system_b, pair_x, pair_y, catch_kind,"
            " token_a, token_b) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, pos, t.item, t.system_a, t.system_b, t.pair_x, t.pair_y, t.catch_kind, *tokens),
        )
    scr = study.screening
    hp_ms = round((3 * scr.tone_s + 3 * scr.gap_s) * 1000)
    for pos, order in enumerate(headphone_plan(scr.headphone_trials, rng)):
        token = _add_token(db, session_id, "headphone", ",".join(order), hp_ms)
        db.execute("INSERT INTO screening (session_id, position, token, correct) VALUES (?, ?, ?, ?)",
                   (session_id, pos, token, order.index("quiet") + 1))
    cal = manifest.calibration
    _add_token(db, session_id, "calibration", str(cal.path.relative_to(manifest.root)), round(cal.duration_s * 1000))
    return len(trials)


def create_session(db: sqlite3.Connection, ctx: Any, secret: str, platform_id: str | None,
                   platform_study: str, platform_session: str, user_agent: str, rng: random.Random) -> str:
    """Make (or, for a known platform id, find) the participant's session; returns its id."""
    study_id = ctx.study.study_id
    pid_hash = keyed_hash(secret, f"{study_id}:{platform_id}") if platform_id else None
    with write_transaction(db, durable=False):
        if pid_hash and db.execute("SELECT 1 FROM revoked WHERE study_id = ? AND rater_hash = ?",
                                   (study_id, pid_hash)).fetchone():
            raise Forbidden(REVOKED)
        if pid_hash:
            row = db.execute("SELECT session_id FROM sessions WHERE study_id = ? AND platform_id_hash = ?",
                             (study_id, pid_hash)).fetchone()
            if row:
                return row["session_id"]
        # The next row of the design; MAX, not COUNT: a withdrawn participant's row stays used.
        k = db.execute("SELECT COALESCE(MAX(plan_index) + 1, 0) FROM sessions WHERE study_id = ?",
                       (study_id,)).fetchone()[0]
        session_id = new_token()
        rater = pid_hash or keyed_hash(secret, f"{study_id}:session:{session_id}")
        code = ctx.study.completion_code or keyed_hash(secret, f"code:{session_id}")[:10].upper()
        db.execute(
            "INSERT INTO sessions (session_id, study_id, rater_hash, platform_id_hash, platform_study,"
            " platform_session, plan_index, csrf_token, completion_code, n_trials, user_agent, created_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (session_id, study_id, rater, pid_hash, platform_study, platform_session, k, new_token(), code,
             user_agent, now_ms()),
        )
        n = _insert_plan(db, ctx, session_id, k, rng)
        db.execute("UPDATE sessions SET n_trials = ? WHERE session_id = ?", (n, session_id))
    return session_id


def set_once(db: sqlite3.Connection, session_id: str, column: str, when: int) -> None:
    """Stamp consent_ms / setup_ms / completed_ms once; later calls keep the first time."""
    if column not in ("consent_ms", "setup_ms", "completed_ms"):
        raise ValueError(column)
    with write_transaction(db, durable=False):
        db.execute(f"UPDATE sessions SET {column} = ? WHERE session_id = ? AND {column} IS NULL", (when, session_id))


def owned_token(db: sqlite3.Connection, session_id: str, token: str) -> sqlite3.Row:
    """The token's row if it belongs to this session; 404 otherwise (another session's or unknown)."""
    row = db.execute("SELECT * FROM audio_tokens WHERE token = ?", (token,)).fetchone()
    if row is None or row["session_id"] != session_id:
        raise NotFound("no such audio")
    return row


def mark_fetched(db: sqlite3.Connection, token: str, when: int) -> None:
    with write_transaction(db, durable=False):
        db.execute("UPDATE audio_tokens SET fetched_ms = ? WHERE token = ? AND fetched_ms IS NULL", (when, token))


def record_answer(db: sqlite3.Connection, session_id: str, ans: Answer, when: int) -> dict[str, Any]:
    """Store one judgment and advance the session, atomically; idempotent for identical repeats."""
    ratings = json.dumps(ans.ratings, sort_keys=True)
    with write_transaction(db):
        old = db.execute("SELECT preference, ratings FROM judgments WHERE session_id = ? AND position = ?",
                         (session_id, ans.trial)).fetchone()
        if old is not None:
            if (old["preference"], json.loads(old["ratings"])) == (ans.preference, ans.ratings):
                return {"ok": True, "duplicate": True}
            raise Conflict("this trial was already answered differently; the first answer is kept")
        sess = db.execute("SELECT next_trial FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if ans.trial != sess["next_trial"]:
            raise Conflict("not the current trial")
        plays = db.execute(
            "SELECT a.plays_completed, b.plays_completed FROM trials t JOIN audio_tokens a ON a.token = t.token_a"
            " JOIN audio_tokens b ON b.token = t.token_b WHERE t.session_id = ? AND t.position = ?",
            (session_id, ans.trial),
        ).fetchone()
        if plays[0] < 1 or plays[1] < 1:
            raise Conflict("play both A and B to the end before answering")
        db.execute(
            "INSERT INTO judgments (session_id, position, preference, ratings, plays_a, plays_b, answered_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, ans.trial, ans.preference, ratings, plays[0], plays[1], when),
        )
        db.execute("UPDATE sessions SET next_trial = next_trial + 1 WHERE session_id = ? AND next_trial = ?",
                   (session_id, ans.trial))
    return {"ok": True, "duplicate": False}


def record_headphone(db: sqlite3.Connection, session_id: str, trial: int, answer: int, when: int) -> dict[str, Any]:
    with write_transaction(db):
        row = db.execute(
            "SELECT s.answer, a.plays_completed FROM screening s JOIN audio_tokens a ON a.token = s.token"
            " WHERE s.session_id = ? AND s.position = ?", (session_id, trial)).fetchone()
        if row is None:
            raise NotFound("no such screening trial")
        if row["answer"] is not None:
            if row["answer"] == answer:
                return {"ok": True, "duplicate": True}
            raise Conflict("already answered differently; the first answer is kept")
        if row["plays_completed"] < 1:
            raise Conflict("play the tones to the end before answering")
        db.execute("UPDATE screening SET answer = ?, answered_ms = ? WHERE session_id = ? AND position = ?",
                   (answer, when, session_id, trial))
    return {"ok": True, "duplicate": False}


def finish_setup(db: sqlite3.Connection, session_id: str, when: int) -> None:
    """Close the setup page once the volume clip was played and every screening trial answered."""
    with write_transaction(db, durable=False):
        cal = db.execute("SELECT plays_completed FROM audio_tokens WHERE session_id = ? AND kind = 'calibration'",
                         (session_id,)).fetchone()
        open_ = db.execute("SELECT COUNT(*) FROM screening WHERE session_id = ? AND answer IS NULL",
                           (session_id,)).fetchone()[0]
        if cal is None or cal[0] < 1:
            raise Conflict("play the volume-check clip first")
        if open_:
            raise Conflict("answer every headphone-check question first")
        db.execute("UPDATE sessions SET setup_ms = ? WHERE session_id = ? AND setup_ms IS NULL", (when, session_id))


def mark_shown(db: sqlite3.Connection, session_id: str, position: int, when: int) -> None:
    with write_transaction(db, durable=False):
        db.execute("UPDATE trials SET shown_ms = ? WHERE session_id = ? AND position = ? AND shown_ms IS NULL",
                   (when, session_id, position))
