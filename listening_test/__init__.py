"""The listening-study web server (Flask app factory).

``create_app()`` reads the study from the environment:

* ``LISTENING_TEST_STUDY``: the study file (TOML/YAML) written by ``listening_test build-stimuli``;
* ``LISTENING_TEST_DATABASE``: overrides the study's ``database`` path;
* ``LISTENING_TEST_SECRET_KEY``: signs cookies and keys participant-id hashes (otherwise a random
  key is created once in ``.secret_key`` beside the database);
* ``LISTENING_TEST_ADMIN_TOKEN``: enables ``/admin`` (export, summary); unset = no admin pages.

Local use: ``flask --app listening_test run``; deployment: ``gunicorn "listening_test:create_app()"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Flask is imported only when the app is asked for (gunicorn "listening_test:create_app()",
    # flask --app listening_test, `from listening_test import create_app`), so that the analysis
    # package and the other tools import without it.
    if name == "create_app":
        from .factory import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
