"""The study owner's hand on one participant: find, revoke, withdraw (``listening_test participant``).

A participant is found by their crowd-platform id (hashed with the secret key, as stored) or by the
completion code shown on their final page (unique unless the study has one fixed code).

* **revoke**: the participant can no longer use the study: every page, audio and API request of
  their session, and their platform link, get 403. Answers already given are kept (and exported).
* **withdraw**: revoke, and delete everything stored about the session (answers, screening,
  playback log, plan, the session row), in one transaction. Only the keyed hash of the participant
  stays, in ``revoked``, so the same link cannot start over.

A participant who stopped half-way needs nothing from the owner: the same link (or, without a
platform id, the same browser) resumes at the first unanswered trial.
"""

from __future__ import annotations

import sqlite3

from hafm.errors import HafmError

from .db import write_transaction
from .security import keyed_hash


class ParticipantError(HafmError):
    """No such participant, or the code does not name exactly one."""


def find_session(db: sqlite3.Connection, study_id: str, secret: str, participant: str = "",
                 code: str = "") -> sqlite3.Row:
    """The session of platform id ``participant`` or of completion ``code`` in ``study_id``."""
    if participant:
        rows = db.execute("SELECT * FROM sessions WHERE study_id = ? AND platform_id_hash = ?",
                          (study_id, keyed_hash(secret, f"{study_id}:{participant}"))).fetchall()
    else:
        rows = db.execute("SELECT * FROM sessions WHERE study_id = ? AND completion_code = ?",
                          (study_id, code)).fetchall()
    if not rows:
        raise ParticipantError(f"study {study_id}: no session for that {'participant id' if participant else 'code'}")
    if len(rows) > 1:
        raise ParticipantError(f"study {study_id}: {len(rows)} sessions share that completion code "
                               "(a fixed study-wide code): use --id")
    return rows[0]


def revoke(db: sqlite3.Connection, row: sqlite3.Row, when: int, reason: str = "") -> None:
    with write_transaction(db):
        db.execute("INSERT OR IGNORE INTO revoked (study_id, rater_hash, revoked_ms, reason) VALUES (?, ?, ?, ?)",
                   (row["study_id"], row["rater_hash"], when, reason))


def withdraw(db: sqlite3.Connection, row: sqlite3.Row, when: int, reason: str = "") -> dict[str, int]:
    """Revoke and delete the session's rows; returns how many rows each table lost."""
    sid = row["session_id"]
    tokens = "SELECT token FROM audio_tokens WHERE session_id = ?"
    deletes = {  # children before parents (foreign keys)
        "judgments": ("DELETE FROM judgments WHERE session_id = ?", (sid,)),
        "screening": ("DELETE FROM screening WHERE session_id = ?", (sid,)),
        "playback_events": (f"DELETE FROM playback_events WHERE token IN ({tokens})", (sid,)),
        "trials": ("DELETE FROM trials WHERE session_id = ?", (sid,)),
        "audio_tokens": ("DELETE FROM audio_tokens WHERE session_id = ?", (sid,)),
        "sessions": ("DELETE FROM sessions WHERE session_id = ?", (sid,)),
    }
    with write_transaction(db):
        db.execute("INSERT OR IGNORE INTO revoked (study_id, rater_hash, revoked_ms, reason) VALUES (?, ?, ?, ?)",
                   (row["study_id"], row["rater_hash"], when, reason))
        return {table: db.execute(sql, args).rowcount for table, (sql, args) in deletes.items()}
