"""Researcher pages: CSV export and a summary, behind ``LISTENING_TEST_ADMIN_TOKEN``.

The token is sent as ``Authorization: Bearer <token>`` (scripts) or as the password of HTTP Basic
auth (browsers prompt for it). Without a configured token the pages do not exist (404). No
participant page links here.
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response, abort, current_app, render_template, request

from .db import get_db
from .export import csv_text
from .security import tokens_equal
from .study_context import current_context

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _given_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:].strip()
    if auth.startswith("Basic "):
        try:
            return base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


@bp.before_request
def require_admin() -> None:
    expected = current_app.config.get("ADMIN_TOKEN", "")
    if not expected:
        abort(404)
    if not tokens_equal(_given_token(), expected):
        abort(Response("admin token required", 401, {"WWW-Authenticate": 'Basic realm="listening-test admin"'}))


@bp.get("/export.csv")
def export_csv() -> Response:
    ctx = current_context()
    text = csv_text(get_db(), ctx.study, current_app.config["SECRET_KEY"])
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{ctx.study.study_id}-judgments.csv"'})


@bp.get("/summary")
def summary() -> str:
    ctx = current_context()
    db = get_db()
    sid = ctx.study.study_id
    counts = db.execute(
        "SELECT COUNT(*) AS sessions, SUM(CASE WHEN consent_ms IS NOT NULL THEN 1 ELSE 0 END) AS consented,"
        " SUM(CASE WHEN completed_ms IS NOT NULL THEN 1 ELSE 0 END) AS completed FROM sessions WHERE study_id = ?",
        (sid,)).fetchone()
    pairs = db.execute(
        "SELECT t.pair_x, t.pair_y, t.catch_kind, COUNT(*) AS n,"
        " SUM(CASE WHEN (j.preference = 'A' AND t.system_a = t.pair_x)"
        " OR (j.preference = 'B' AND t.system_b = t.pair_x)"
        " THEN 1 ELSE 0 END) AS x_wins"
        " FROM judgments j JOIN trials t ON t.session_id = j.session_id AND t.position = j.position"
        " JOIN sessions s ON s.session_id = j.session_id WHERE s.study_id = ?"
        " GROUP BY t.pair_x, t.pair_y, t.catch_kind ORDER BY t.catch_kind, t.pair_x, t.pair_y", (sid,)).fetchall()
    return render_template("admin_summary.html", study=ctx.study, counts=counts, pairs=pairs)
