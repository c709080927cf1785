"""Server-side check that a clip was heard to the end: a small state machine per audio token.

Each token (one clip of one session) is *idle* or has a *run* in progress
(``audio_tokens.play_started_ms``, the server time the run started; a paused run is still a run).

* ``play`` at position 0 starts a run (or restarts the token's run); ``play`` at a later position
  resumes the token's run, or starts one if it has none. Any ``play`` ends the runs of every other
  token of the session: only one clip plays at a time, so overlapping A and B can earn credit for
  at most the one started last.
* ``pause`` leaves the run as it is (resuming is allowed; the time check below still needs the
  clip's full duration to pass since the run started).
* ``ended`` always ends the run. It counts as one complete play only if the audio was fetched,
  a run was in progress, at least the clip's duration (less ``slack_ms``) passed on the server
  clock since the run started, the reported position is at the clip's end, and the page's
  measured coverage is at least ``MIN_COVERAGE``. Otherwise it is refused (409), and because the
  run is over, the participant must play the clip again: a refused ``ended`` cannot be resent in
  another shape to get the credit.

Every event is logged in ``playback_events`` (``accepted`` 0 for a refused one), so the export can
show who skipped; that audit row and the ended run are all a refused event changes. The server
clock is the only clock trusted; ``position_ms`` and ``coverage`` come from the page and can only
make the check stricter.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from werkzeug.exceptions import Conflict

from .db import write_transaction
from .store import new_token, owned_token
from .validation import PlaybackEvent

MIN_COVERAGE = 0.95


def _ended_problem(tok: sqlite3.Row, ev: PlaybackEvent, slack_ms: int, when: int) -> str:
    """Why an "ended" event cannot count as a complete play ("" when it can)."""
    started = tok["play_started_ms"]
    if tok["fetched_ms"] is None or started is None:
        return "no playback was started"
    if when - started < tok["duration_ms"] - slack_ms:
        return "ended sooner than the clip lasts"
    if ev.position_ms < tok["duration_ms"] - slack_ms:
        return "the clip did not reach its end"
    if ev.coverage is None or ev.coverage < MIN_COVERAGE:
        return "parts of the clip were skipped"
    return ""


def _apply(db: sqlite3.Connection, session_id: str, tok: sqlite3.Row, ev: PlaybackEvent, slack_ms: int,
           when: int) -> str:
    """Move the token's state for ``ev``; returns why the event was refused ("" if accepted)."""
    if ev.event == "play":
        db.execute("UPDATE audio_tokens SET play_started_ms = NULL"
                   " WHERE session_id = ? AND token <> ? AND play_started_ms IS NOT NULL", (session_id, ev.token))
        if ev.position_ms == 0 or tok["play_started_ms"] is None:
            db.execute("UPDATE audio_tokens SET play_started_ms = ? WHERE token = ?", (when, ev.token))
        return ""
    if ev.event == "pause":
        return ""
    problem = _ended_problem(tok, ev, slack_ms, when)
    db.execute("UPDATE audio_tokens SET play_started_ms = NULL, plays_completed = plays_completed + ?"
               " WHERE token = ?", (0 if problem else 1, ev.token))
    return problem


def record(db: sqlite3.Connection, session_id: str, ev: PlaybackEvent, slack_ms: int, when: int) -> dict[str, Any]:
    """Apply and log one event in one transaction; 404 for a token of another session, 409 for a
    refused "ended" (logged, and the run is over)."""
    with write_transaction(db, durable=False):
        tok = owned_token(db, session_id, ev.token)
        problem = _apply(db, session_id, tok, ev, slack_ms, when)
        db.execute(
            "INSERT INTO playback_events (event_id, token, event, client_ms, coverage, server_ms, accepted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (new_token(), ev.token, ev.event, ev.position_ms, ev.coverage, when, 0 if problem else 1),
        )
        plays = tok["plays_completed"] + (1 if ev.event == "ended" and not problem else 0)
    if problem:
        raise Conflict(f"playback not verified: {problem}; please play the clip again")
    return {"ok": True, "plays_completed": plays}
