"""SQLite access, flaskr style (``get_db``, ``init_db``, the ``init-db`` command), with one kept
connection per server thread instead of one per request.

SQLite-specific settings live here and only here (the PRAGMAs and ``BEGIN IMMEDIATE``); the SQL
elsewhere is portable to PostgreSQL. WAL lets readers run beside the single writer;
answers commit with ``synchronous=FULL`` (the WAL is synced before the acknowledgement), so an
acknowledged answer survives a killed server and a power loss where the disk honours fsync.
Connections are opened lazily per request, never before gunicorn forks.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import click
from flask import Flask, current_app, g

BUSY_TIMEOUT_MS = 5000


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit, see ``write_transaction``)."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys=ON")
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """All-or-nothing write. ``BEGIN IMMEDIATE`` takes the write lock up front, so the checks
    made inside cannot be invalidated by another writer (PostgreSQL: BEGIN + SELECT FOR UPDATE).

    ``durable=True`` (answers, consent) commits with ``synchronous=FULL``: the WAL is fsynced
    before the commit returns. ``durable=False`` (playback events, fetch/shown stamps) commits
    with ``synchronous=NORMAL``: no fsync of its own; it still survives a killed server and is
    synced by the next durable commit, and only a power loss before then could drop it (the
    participant would then be asked to play the clip again)."""
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def schema_sql() -> str:
    return resources.files("listening_test").joinpath("schema.sql").read_text(encoding="utf-8")


# Databases made before the study file had questions kept the three default ratings in columns.
FIXED_RATING_COLUMNS = ("rhythm_a", "harmony_a", "coherence_a", "rhythm_b", "harmony_b", "coherence_b")


def _move_fixed_ratings(db: sqlite3.Connection) -> None:
    """Rebuild an old ``judgments`` table (ratings in six columns) with the ratings as the JSON
    column of the current schema, in one transaction; every row is kept."""
    with write_transaction(db):
        if "ratings" in {r["name"] for r in db.execute("PRAGMA table_info(judgments)")}:
            return
        db.execute("ALTER TABLE judgments RENAME TO judgments_fixed_ratings")
        db.execute(re.search(r"CREATE TABLE IF NOT EXISTS judgments \(.*?\n\);", schema_sql(), re.S).group(0))
        for r in db.execute("SELECT * FROM judgments_fixed_ratings").fetchall():
            ratings = json.dumps({c: r[c] for c in FIXED_RATING_COLUMNS}, sort_keys=True)
            db.execute("INSERT INTO judgments (session_id, position, preference, ratings, plays_a, plays_b,"
                       " answered_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (r["session_id"], r["position"], r["preference"], ratings, r["plays_a"], r["plays_b"],
                        r["answered_ms"]))
        db.execute("DROP TABLE judgments_fixed_ratings")


def init_db(path: str | Path) -> None:
    """Create the tables that do not exist yet and bring an older ``judgments`` table to the
    current layout; never drops stored data."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        db.executescript(schema_sql())
        _move_fixed_ratings(db)
    finally:
        db.close()


_local = threading.local()


def get_db() -> sqlite3.Connection:
    """This thread's connection to the app's database, opened on first use after the fork and
    kept for the thread's next requests (opening one costs more than most queries here)."""
    path = current_app.config["DATABASE"]
    cached = getattr(_local, "conn", None)
    if cached is None or cached[0] != path:
        if cached is not None:
            cached[1].close()
        _local.conn = (path, connect(path))
    g.db_used = True
    return _local.conn[1]


def close_db(_exc: BaseException | None = None) -> None:
    """End of request: make sure no transaction is left open on the kept connection."""
    if g.pop("db_used", False) and _local.conn[1].in_transaction:
        _local.conn[1].execute("ROLLBACK")


@click.command("init-db")
def init_db_command() -> None:
    """Create the study database's tables (existing data is kept)."""
    init_db(current_app.config["DATABASE"])
    click.echo(f"Initialised the database {current_app.config['DATABASE']}")


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
