"""The ``listening_test`` command line and ``flask --app listening_test init-db``."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from listening_test.cli import build_parser, main
from listening_test.export import columns
from listening_test.study_file import ATTRIBUTES, load_study


@pytest.fixture(scope="module")
def cli_study(source_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_study")
    assert main(["build-stimuli", str(source_folder), str(out), "--max-seconds", "1"]) == 0
    return out / "study.toml"


@pytest.mark.slow
def test_build_stimuli_writes_a_study_from_the_template(cli_study):
    study = load_study(cli_study)
    assert study.study_id == "hafm-demo" and study.manifest_path.is_file()


@pytest.mark.slow
def test_init_db_then_export_writes_the_header(cli_study, tmp_path):
    assert main(["init-db", "--study", str(cli_study)]) == 0
    out = tmp_path / "j.csv"
    assert main(["export", "--study", str(cli_study), "--out", str(out)]) == 0
    assert tuple(next(csv.reader(out.open()))) == columns(ATTRIBUTES)


@pytest.mark.slow
def test_flask_cli_init_db(cli_study, tmp_path):
    env = dict(os.environ, LISTENING_TEST_STUDY=str(cli_study), LISTENING_TEST_DATABASE=str(tmp_path / "f.sqlite"))
    r = subprocess.run([sys.executable, "-m", "flask", "--app", "listening_test", "init-db"], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and (tmp_path / "f.sqlite").is_file(), r.stderr


def test_bad_source_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["build-stimuli", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_corrupt_wav_exits_2_naming_the_file(tmp_path, capsys):
    (tmp_path / "src" / "a").mkdir(parents=True)
    (tmp_path / "src" / "a" / "vocals.wav").write_bytes(b"RIFF" + bytes(40))
    (tmp_path / "src" / "a" / "sys.wav").write_bytes(b"RIFF" + bytes(40))
    assert main(["build-stimuli", str(tmp_path / "src"), str(tmp_path / "out"), "--catch-base", "sys"]) == 2
    err = capsys.readouterr().err
    assert "vocals.wav: unreadable" in err and "Traceback" not in err


def test_every_subcommand_has_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"build-stimuli", "init-db", "serve", "export", "demo-source"} <= set(sub.choices)
