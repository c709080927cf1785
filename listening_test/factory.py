"""The Flask app factory of the listening-study server (``create_app``); see the package docstring
for the environment variables it reads. Imported lazily by ``listening_test/__init__.py`` so that
``listening_test.analysis`` and the command line stay free of Flask.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from . import db, security
from .study_context import load_context
from .study_file import StudyConfig, load_study


def _secret_key(db_path: Path) -> str:
    """One key shared by every worker: created atomically once (O_EXCL), then read."""
    key_file = db_path.parent / ".secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may be writing it right now
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{key_file} is empty")
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


# CommonMark without raw HTML: a study file's text cannot inject markup or scripts into the pages.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown_filter(text: str) -> Markup:
    """The ``markdown`` template filter: a study file's text (consent, task) as safe HTML."""
    return Markup(_MARKDOWN.render(text))


def _handle_http_error(e: HTTPException) -> Any:
    if request_ctx.url_adapter is None:  # an unusable Host header: no page URL can be built, so plain text
        return Response(f"{e.code} {e.name}", e.code, mimetype="text/plain")
    if request.path.startswith("/api/") or request.path.startswith("/admin/export"):
        return jsonify(error=e.description), e.code
    return render_template("error.html", code=e.code, message=e.description), e.code


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` may set ``STUDY`` (a path or a ``StudyConfig``),
    ``DATABASE``, ``SECRET_KEY``, ``ADMIN_TOKEN`` and any Flask setting."""
    # The package's name, not this module's: same templates/static root, instance folder and
    # logger name as when the factory lived in __init__.py.
    app = Flask(__package__, instance_relative_config=True)
    cfg = dict(test_config or {})
    study_ref = cfg.pop("STUDY", None) or os.environ.get("LISTENING_TEST_STUDY")
    study = study_ref if isinstance(study_ref, StudyConfig) else load_study(study_ref) if study_ref else None
    database = cfg.pop("DATABASE", None) or os.environ.get("LISTENING_TEST_DATABASE") or (
        study.database_path if study else Path(app.instance_path) / "listening.sqlite"
    )
    sec = study.security if study else StudyConfig().security
    app.config.from_mapping(
        DATABASE=str(database),
        ADMIN_TOKEN=os.environ.get("LISTENING_TEST_ADMIN_TOKEN", ""),
        SESSION_COOKIE_NAME="lt_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=sec.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie is set once; saves signing on every response
        MAX_CONTENT_LENGTH=sec.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=sec.max_body_bytes,
        MAX_FORM_PARTS=20,
    )
    app.config.update(cfg)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("LISTENING_TEST_SECRET_KEY") or _secret_key(Path(database))
    if sec.trust_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    db.init_db(app.config["DATABASE"])
    db.init_app(app)
    security.init_app(app, sec.requests_per_minute, sec.new_sessions_per_hour)
    app.extensions["study"] = load_context(study) if study else None
    app.register_error_handler(HTTPException, _handle_http_error)
    app.add_template_filter(markdown_filter, "markdown")

    from . import admin, media, participant_flow

    app.register_blueprint(participant_flow.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(admin.bp)
    return app
