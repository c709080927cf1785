"""The participant's path: start -> consent -> setup (volume, headphone check) -> trials -> done.

Pages are plain forms (POST + redirect); answers and playback events are JSON posts from
``static/study.js``. Every page redirects to the participant's current step, so a reload or a
return with the same link resumes where they stopped.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import Conflict
from werkzeug.wrappers import Response

from . import playback as playback_state
from . import store
from .bodies import form_fields, json_object
from .db import get_db
from .security import check_csrf, keyed_hash, same_origin, too_many
from .study_context import current_context
from .validation import (
    parse_answer,
    parse_headphone,
    parse_platform_id,
    parse_platform_ref,
    parse_playback,
    printable,
)

bp = Blueprint("participant", __name__)
STEP_ENDPOINTS = {step: f"participant.{step}" for step in ("consent", "setup", "trial", "done")}


def current_session() -> sqlite3.Row | None:
    return store.find_session(get_db(), session.get("sid"))


def require_session(page: str | None) -> sqlite3.Row:
    """The participant's session row; for a page (``page`` = its step) a redirect elsewhere if
    the participant is not at that step; for the API (``page`` None) a 403 without a session."""
    row = current_session()
    if row is None:
        abort(redirect(url_for("participant.start")) if page else 403)
    if row["revoked"]:
        abort(403, description=store.REVOKED)
    if page and store.step(row) != page:
        abort(redirect(url_for(STEP_ENDPOINTS[store.step(row)])))
    return row


def _hashed(value: str) -> str:
    """Platform attempt ids are pseudonymous data too: keep only a keyed hash."""
    return keyed_hash(current_app.config["SECRET_KEY"], f"attempt:{value}")[:32] if value else ""


@bp.get("/")
def start() -> Response:
    ctx = current_context()
    # Every parameter is checked before anything is looked up or stored.
    pid = parse_platform_id(request.args.get(ctx.study.participant_param))
    platform_study = parse_platform_ref(request.args.get("STUDY_ID"), "STUDY_ID")
    platform_session = parse_platform_ref(request.args.get("SESSION_ID"), "SESSION_ID")
    row = current_session()
    if pid or row is None:
        if not current_app.extensions["new_session_limiter"].allow(f"ip:{request.remote_addr}"):
            too_many()
        sid = store.create_session(
            get_db(), ctx, current_app.config["SECRET_KEY"], pid, platform_study, _hashed(platform_session),
            printable(request.headers.get("User-Agent", ""), 256), random.Random(secrets.randbits(64)),
        )
        session.clear()
        session["sid"] = sid
        session.permanent = True
        row = current_session()
    if row["revoked"]:
        abort(403, description=store.REVOKED)
    # Redirect to a clean URL: the platform id leaves the address bar and the history.
    return redirect(url_for(STEP_ENDPOINTS[store.step(row)]))


def _page(template: str, row: sqlite3.Row, **kw: Any) -> str:
    return render_template(template, csrf=row["csrf_token"], study=current_context().study, **kw)


def _posted_form(row: sqlite3.Row, allowed: frozenset[str]) -> dict[str, str]:
    """The page's form after the CSRF checks: the origin before the body is read, then the token
    from the form's own field."""
    if not same_origin(request.headers.get("Origin")):
        abort(403, description="cross-origin request refused")
    fields = form_fields(request, allowed)
    check_csrf(row["csrf_token"], fields.get("csrf_token"))
    return fields


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> Response | str:
    row = require_session("consent")
    if request.method == "POST":
        form = _posted_form(row, frozenset({"csrf_token", "agree"}))
        if form.get("agree") != "yes":
            return _page("consent.html", row, error="Please tick the box to take part."), 422
        store.set_once(get_db(), row["session_id"], "consent_ms", store.now_ms())
        return redirect(url_for("participant.setup"))
    return _page("consent.html", row)


def _setup_state(row: sqlite3.Row) -> dict[str, Any]:
    db = get_db()
    cal = db.execute("SELECT token, plays_completed FROM audio_tokens WHERE session_id = ? AND kind = 'calibration'",
                     (row["session_id"],)).fetchone()
    screening = db.execute("SELECT s.position, s.token, s.answer, a.plays_completed FROM screening s"
                           " JOIN audio_tokens a ON a.token = s.token WHERE s.session_id = ? ORDER BY s.position",
                           (row["session_id"],)).fetchall()
    return {"calibration": cal, "screening": screening}


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response | str:
    row = require_session("setup")
    if request.method == "POST":
        _posted_form(row, frozenset({"csrf_token"}))
        try:
            store.finish_setup(get_db(), row["session_id"], store.now_ms())
        except Conflict as e:
            return _page("setup.html", row, error=e.description, **_setup_state(row)), 409
        return redirect(url_for("participant.trial"))
    return _page("setup.html", row, **_setup_state(row))


@bp.get("/trial")
def trial() -> str:
    row = require_session("trial")
    pos = row["next_trial"]
    t = get_db().execute(
        "SELECT t.token_a, t.token_b, t.shown_ms, a.plays_completed AS played_a, b.plays_completed AS played_b"
        " FROM trials t JOIN audio_tokens a ON a.token = t.token_a JOIN audio_tokens b ON b.token = t.token_b"
        " WHERE t.session_id = ? AND t.position = ?", (row["session_id"], pos)).fetchone()
    if t["shown_ms"] is None:
        store.mark_shown(get_db(), row["session_id"], pos, store.now_ms())
    return _page("trial.html", row, position=pos, total=row["n_trials"], token_a=t["token_a"],
                 token_b=t["token_b"], played_a=t["played_a"], played_b=t["played_b"])


@bp.get("/done")
def done() -> str:
    row = require_session("done")
    store.set_once(get_db(), row["session_id"], "completed_ms", store.now_ms())
    study = current_context().study
    url = study.completion_url.replace("{code}", row["completion_code"]) if study.completion_url else ""
    return _page("done.html", row, code=row["completion_code"], completion_url=url, total=row["n_trials"])


@bp.post("/api/playback")
def playback() -> Response:
    row = require_session(None)
    check_csrf(row["csrf_token"])
    ev = parse_playback(json_object(request))
    slack = current_context().study.playback_slack_ms
    return jsonify(playback_state.record(get_db(), row["session_id"], ev, slack, store.now_ms()))


@bp.post("/api/headphone")
def headphone() -> Response:
    row = require_session(None)
    check_csrf(row["csrf_token"])
    trial_no, answer = parse_headphone(json_object(request), current_context().study.screening.headphone_trials)
    return jsonify(store.record_headphone(get_db(), row["session_id"], trial_no, answer, store.now_ms()))


@bp.post("/api/answer")
def answer() -> Response:
    row = require_session(None)
    check_csrf(row["csrf_token"])
    ans = parse_answer(json_object(request), row["n_trials"], current_context().study.questions)
    result = store.record_answer(get_db(), row["session_id"], ans, store.now_ms())
    nxt = store.find_session(get_db(), row["session_id"])
    result.update(next=url_for(STEP_ENDPOINTS[store.step(nxt)]), progress=nxt["next_trial"])
    return jsonify(result)
