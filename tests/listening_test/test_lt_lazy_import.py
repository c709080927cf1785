"""The package imports Flask only when the app is asked for, and never torch (the study server runs
without it); the usual entry points still find the app."""

from __future__ import annotations

import subprocess
import sys

import flask
import pytest

import listening_test


@pytest.mark.parametrize("module", ["listening_test", "listening_test.analysis", "listening_test.analysis.cli"])
def test_importing_without_the_app_leaves_flask_out(module):
    # A fresh interpreter: this one has imported Flask already through the other tests.
    code = f"import sys, {module}; assert 'flask' not in sys.modules, sorted(m for m in sys.modules if 'flask' in m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# Run first in a fresh interpreter: any import of torch or torchaudio fails, as on a server without them.
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchaudio"):
            raise ImportError(f"{name} is blocked: the study server runs without torch")
sys.meta_path.insert(0, NoTorch())
"""


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH + code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("module", ["listening_test.factory", "listening_test.stimulus_builder", "listening_test.cli"])
def test_the_server_and_its_tools_import_without_torch(module):
    result = run_without_torch(f"import {module}")
    assert result.returncode == 0, result.stderr


def test_the_stimulus_audio_path_runs_without_torch(tmp_path):
    # read + resample (8 -> 16 kHz, mono -> stereo), loudness and write, in a process without torch
    result = run_without_torch(f"""
from hafm import audio
from listening_test.demo import write_synthetic_source
from listening_test.stimulus_builder import read_audio
src = write_synthetic_source({str(tmp_path)!r}, items=1, seconds=1.0, sr=8000)
x = read_audio(src / "item-00" / "vocals.wav", 16000, 2)
audio.write(src / "stereo.wav", x.T, 16000)
print(x.shape, round(audio.loudness(x.T, 16000)))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["(16000,", "2)"] and (tmp_path / "stereo.wav").exists()


def test_create_app_is_the_factory():
    from listening_test import create_app
    from listening_test.factory import create_app as factory

    assert create_app is factory


def test_an_unknown_attribute_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        listening_test.no_such_thing


def test_flask_cli_discovers_the_app(tmp_path, monkeypatch):
    # What `flask --app listening_test run` does to find the app.
    monkeypatch.setenv("LISTENING_TEST_DATABASE", str(tmp_path / "lt.sqlite"))
    app = flask.cli.find_best_app(listening_test)
    assert isinstance(app, flask.Flask) and app.name == "listening_test"


def test_gunicorn_loads_the_app_expression(tmp_path, monkeypatch):
    from gunicorn.util import import_app

    monkeypatch.setenv("LISTENING_TEST_DATABASE", str(tmp_path / "lt.sqlite"))
    app = import_app("listening_test:create_app()")
    assert isinstance(app, flask.Flask)
    # The error page renders: the templates folder is still found from the moved factory.
    page = app.test_client().get("/")
    assert page.status_code == 503 and b"no study is configured" in page.data and b"<html" in page.data.lower()
