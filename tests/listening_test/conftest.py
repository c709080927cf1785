"""Fixtures for the study server: a small built study (3 items x 4 systems, 1 s clips), an app on
a fresh database per test, a controllable server clock, and a scripted participant."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from listening_test import create_app, store
from listening_test.demo import write_synthetic_source
from listening_test.stimulus_builder import BuildOptions, build_stimuli
from listening_test.study_file import load_study

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
GOOD_RATINGS = {"A": {"rhythm": 4, "harmony": 3, "coherence": 5}, "B": {"rhythm": 2, "harmony": 1, "coherence": 3}}


@pytest.fixture(scope="session")
def source_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_source(tmp_path_factory.mktemp("source"), items=3, seconds=1.0, seed=1)


@pytest.fixture(scope="session")
def built_study(source_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with manifest.json, mixes/, calibration.wav and study.toml."""
    out = tmp_path_factory.mktemp("study")
    build_stimuli(source_folder, out, BuildOptions(max_seconds=1.0))
    return out


def small_study(built_study: Path, **overrides: Any):
    """The built study with a short headphone check (2 trials of 0.2 s tones), no practical
    rate limit, and ``overrides``."""
    study = load_study(built_study / "study.toml")
    study.screening = dataclasses.replace(study.screening, headphone_trials=2, pass_threshold=2, tone_s=0.2, gap_s=0.1)
    # Scripted participants are far faster than people: the rate limit has its own tests.
    study.security = dataclasses.replace(study.security, requests_per_minute=100_000)
    for key, value in overrides.items():
        setattr(study, key, value)
    return study


@pytest.fixture
def make_app(built_study: Path, tmp_path: Path):
    def make(**overrides: Any):
        return create_app({"STUDY": small_study(built_study, **overrides), "DATABASE": str(tmp_path / "lt.sqlite"),
                           "SECRET_KEY": "test-secret", "ADMIN_TOKEN": ADMIN_TOKEN, "TESTING": True})

    return make


@pytest.fixture
def app(make_app):
    return make_app()


class Clock:
    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Replaces the server clock so that 'played to the end' needs no real waiting."""
    c = Clock()
    monkeypatch.setattr(store, "now_ms", c)
    return c


class Participant:
    """Drives one browser-less participant through the Flask test client."""

    def __init__(self, app, clock: Clock, pid: str | None = None) -> None:
        self.app, self.clock, self.pid = app, clock, pid
        self.client = app.test_client()
        self.csrf = ""

    def start(self):
        r = self.client.get("/", query_string={"PROLIFIC_PID": self.pid} if self.pid else None)
        page = self.client.get(r.headers["Location"])
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        return page

    def post_json(self, url: str, body: Any, csrf: str | None = None, **kw: Any):
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        return self.client.post(url, json=body, headers=headers, **kw)

    def consent(self):
        return self.client.post("/consent", data={"csrf_token": self.csrf, "agree": "yes"})

    def fetch_and_play(self, token: str, duration_ms: int):
        assert self.client.get(f"/audio/{token}").status_code == 200
        self.post_json("/api/playback", {"token": token, "event": "play", "position_ms": 0})
        self.clock.advance(duration_ms + 20)
        return self.post_json("/api/playback", {"token": token, "event": "ended", "position_ms": duration_ms,
                                                "coverage": 1.0})

    def tokens(self, url: str) -> list[str]:
        return re.findall(r'data-token="([^"]+)"', self.client.get(url).text)

    def do_setup(self, answers: list[int] | None = None):
        toks = self.tokens("/setup")
        self.fetch_and_play(toks[0], 5000)
        for k, tok in enumerate(toks[1:]):
            self.fetch_and_play(tok, 1000)
            self.post_json("/api/headphone", {"trial": k, "answer": answers[k] if answers else 1})
        return self.client.post("/setup", data={"csrf_token": self.csrf})

    def play_current(self) -> int:
        page = self.client.get("/trial").text
        trial = int(re.search(r'data-trial="(\d+)"', page).group(1))
        for tok in re.findall(r'data-token="([^"]+)"', page):
            self.fetch_and_play(tok, 1000)
        return trial

    def answer(self, trial: int, preference: str = "A", ratings: dict | None = None):
        return self.post_json("/api/answer", {"trial": trial, "preference": preference,
                                              "ratings": ratings or GOOD_RATINGS})

    def ready_for_trials(self):
        self.start()
        self.consent()
        self.do_setup()
        return self


@pytest.fixture
def new_participant(app, clock):
    """Factory: ``new_participant(pid)`` is a fresh browser (own cookies) on the same server."""
    return lambda pid=None: Participant(app, clock, pid=pid)


@pytest.fixture
def participant_of(clock):
    """Factory: ``participant_of(app, pid)`` is a fresh browser on another app (another study)."""
    return lambda app, pid=None: Participant(app, clock, pid=pid)


@pytest.fixture
def participant(new_participant):
    return new_participant("PID_alpha_01")


@pytest.fixture
def rows(app):
    """``rows(sql, args)``: query the app's database directly (a separate connection)."""
    from listening_test.db import connect

    def query(sql: str, args: tuple = ()) -> list:
        db = connect(app.config["DATABASE"])
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    return query
