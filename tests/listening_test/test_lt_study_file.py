"""The study file controls the study: id, title, consent, questions and scales in the pages, the
stored answers and the export; the audio format and the catch base system of build-stimuli; and
bad study files are refused naming the file and the key."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hafm.errors import AudioError
from listening_test.db import connect, init_db, schema_sql
from listening_test.export import csv_text
from listening_test.manifest import load_manifest
from listening_test.stimulus_builder import BuildOptions, build_stimuli
from listening_test.study_file import Question, StudyConfigError, TextConfig, load_study

CUSTOM = {
    "study_id": "my-lab-2027",
    "title": "Mix comparison, spring 2027",
    "text": TextConfig(consent="Hello **listener**.\n\n- point one\n- <script>x</script>", consent_agree="I agree."),
    "questions": [Question(id="clarity", name="Clarity", prompt="How clear is the vocal?", min=0, max=10),
                  Question(id="groove", name="Groove", prompt="Does it groove?", min=1, max=3,
                           labels=["no", "somewhat", "yes"])],
}
CUSTOM_RATINGS = {"A": {"clarity": 0, "groove": 3}, "B": {"clarity": 10, "groove": 1}}


def test_custom_study_shows_its_title_and_consent(make_app, clock):
    app = make_app(**CUSTOM)
    client = app.test_client()
    consent = client.get(client.get("/?PROLIFIC_PID=P1").headers["Location"]).text
    assert "Mix comparison, spring 2027" in consent and "<strong>listener</strong>" in consent
    assert "<li>point one</li>" in consent and "<script>x</script>" not in consent and "I agree." in consent
    assert "Accompaniment listening study" not in consent and "at least 18 years" not in consent


def test_custom_questions_are_asked_stored_and_exported(make_app, participant_of):
    app = make_app(**CUSTOM)
    p = participant_of(app, "P2")
    p.start()
    p.consent()
    setup = p.client.get("/setup").text
    assert "<strong>Clarity</strong>" in setup and "<strong>Rhythm</strong>" not in setup
    p.do_setup()
    trial = p.client.get("/trial").text
    assert "How clear is the vocal?" in trial and "Does it groove?" in trial and "Rhythm" not in trial
    assert re.findall(r'name="clarity_A" value="(\d+)"', trial) == [str(v) for v in range(11)]
    assert 'class="anchor">somewhat<' in trial
    assert p.play_current() == 0
    old = {s: {"rhythm": 3, "harmony": 3, "coherence": 3} for s in "AB"}
    too_high = {"A": {"clarity": 11, "groove": 1}, "B": {"clarity": 1, "groove": 1}}
    assert p.answer(0, "B", old).status_code == 422 and p.answer(0, "B", too_high).status_code == 422
    assert p.answer(0, "B", CUSTOM_RATINGS).status_code == 200
    db = connect(app.config["DATABASE"])
    stored = db.execute("SELECT s.study_id, j.ratings FROM judgments j JOIN sessions s USING (session_id)").fetchall()
    table = list(csv.DictReader(io.StringIO(csv_text(db, app.extensions["study"].study, "k"))))
    db.close()
    assert [(r[0], json.loads(r[1])) for r in stored] == [
        ("my-lab-2027", {"clarity_a": 0, "groove_a": 3, "clarity_b": 10, "groove_b": 1})]
    assert [(r["study_id"], r["clarity_a"], r["groove_a"], r["clarity_b"], r["groove_b"]) for r in table] == [
        ("my-lab-2027", "0", "3", "10", "1")]
    assert "rhythm_a" not in table[0]


def _source(folder: Path, sr: int, channels: int, systems: tuple[str, ...], seconds: float = 1.0) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    for k, name in enumerate(("vocals", *systems)):
        x = np.stack([0.2 * np.sin(2 * np.pi * (220 * (k + 1) + 30 * c) * t) for c in range(channels)], axis=1)
        (folder / "item-0").mkdir(parents=True, exist_ok=True)
        sf.write(folder / "item-0" / f"{name}.wav", x.astype(np.float32), sr)
    return folder


def test_a_44k_stereo_source_stays_44k_stereo(tmp_path, capsys):
    src = _source(tmp_path / "src", 44100, 2, ("ground_truth", "mine"))
    build_stimuli(src, tmp_path / "out", BuildOptions(max_seconds=1.0))
    m = load_manifest(tmp_path / "out" / "manifest.json")
    info = sf.info(str(m.items[0].stimuli["mine"].path))
    assert (m.sample_rate, info.samplerate, info.channels) == (44100, 44100, 2)
    assert "converting" not in capsys.readouterr().err
    written = load_study(tmp_path / "out" / "study.toml")
    assert (written.audio.sample_rate, written.audio.channels) == (44100, "stereo")


def test_conversion_is_done_only_when_asked_and_is_reported(tmp_path, capsys):
    src = _source(tmp_path / "src", 44100, 2, ("ground_truth", "mine"))
    build_stimuli(src, tmp_path / "out", BuildOptions(max_seconds=1.0, sample_rate=24000, channels="mono"))
    info = sf.info(str(load_manifest(tmp_path / "out" / "manifest.json").items[0].stimuli["mine"].path))
    assert (info.samplerate, info.channels) == (24000, 1)
    assert "converting sources (44100 Hz stereo) to 24000 Hz mono" in capsys.readouterr().err


def test_catch_trials_use_the_configured_system(tmp_path, built_study):
    src = _source(tmp_path / "src", 8000, 1, ("aaa", "zzz"))
    study = load_study(built_study / "study.toml")
    study.catch.base_system = "zzz"
    build_stimuli(src, tmp_path / "out", BuildOptions(max_seconds=1.0, catch_base="zzz"), study)
    assert load_manifest(tmp_path / "out" / "manifest.json").catch_base == "zzz"
    written = tomllib.loads((tmp_path / "out" / "study.toml").read_text())
    assert written["catch"]["base_system"] == "zzz"


def test_without_ground_truth_the_catch_system_must_be_named(tmp_path):
    src = _source(tmp_path / "src", 8000, 1, ("aaa", "zzz"))
    with pytest.raises(AudioError, match=r"no ground_truth.*base_system"):
        build_stimuli(src, tmp_path / "out", BuildOptions(max_seconds=1.0))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, where", [
    ('[[questions]]\nid = "q"\nprompt = "p"\ncolour = "red"\n', r"questions\[0\]: unknown field\(s\) \['colour'\]"),
    ('[[questions]]\nid = "q"\nprompt = "p"\nmax = "5"\n', r"questions\[0\]: max must be int"),
    ('[[questions]]\nid = "q"\nprompt = "p"\nlabels = ["a", "b"]\n', r"questions\[0\]: labels has 2 entries"),
    ('[[questions]]\nid = "Bad id"\nprompt = "p"\n', r"questions\[0\]: id 'Bad id'"),
    ('[[questions]]\nid = "plays"\nprompt = "p"\n', r"questions\[0\]: id 'plays'"),
    ('[[questions]]\nid = "q"\n', r"questions\[0\]: prompt is missing"),
    ('[[questions]]\nid = "q"\nprompt = "p"\n[[questions]]\nid = "q"\nprompt = "r"\n', r"distinct"),
    ('questions = []\n', r"non-empty list"),
    ('[audio]\nchannels = "surround"\n', r"\[audio\]: channels must be one of"),
    ('[audio]\nsample_rate = 12\n', r"\[audio\]: sample_rate"),
    ('[catch]\nbase_system = 3\n', r"\[catch\]: base_system must be str"),
    ('[text]\nconsent = ["a"]\n', r"\[text\]: consent must be str"),
])
def test_bad_study_files_name_the_file_and_the_key(tmp_path, text, where):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(StudyConfigError, match=rf"bad\.toml.*{where}"):
        load_study(path)


def test_a_database_with_the_old_rating_columns_keeps_its_answers(tmp_path):
    path = tmp_path / "old.sqlite"
    old_judgments = ("CREATE TABLE IF NOT EXISTS judgments (session_id TEXT NOT NULL, position INTEGER NOT NULL,"
                     " preference TEXT NOT NULL, rhythm_a INTEGER, harmony_a INTEGER, coherence_a INTEGER,"
                     " rhythm_b INTEGER, harmony_b INTEGER, coherence_b INTEGER, plays_a INTEGER NOT NULL,"
                     " plays_b INTEGER NOT NULL, answered_ms BIGINT NOT NULL, PRIMARY KEY (session_id, position),"
                     " FOREIGN KEY (session_id, position) REFERENCES trials (session_id, position));")
    old = sqlite3.connect(path)  # foreign keys off: only the rows the migration reads are made
    new_judgments = r"CREATE TABLE IF NOT EXISTS judgments \(.*?\n\);"
    old.executescript(re.sub(new_judgments, old_judgments, schema_sql(), flags=re.S))
    old.execute("INSERT INTO trials (session_id, position, item, system_a, system_b, pair_x, pair_y, token_a,"
                " token_b) VALUES ('s1', 0, 'i', 'a', 'b', 'a', 'b', 't1', 't2')")
    old.execute("INSERT INTO judgments VALUES ('s1', 0, 'A', 1, 2, 3, 4, 5, 1, 1, 2, 99)")
    old.commit()
    old.close()
    init_db(path)
    init_db(path)  # a second start finds the new layout and changes nothing
    db = sqlite3.connect(path)
    row = db.execute("SELECT session_id, position, preference, ratings, plays_a, plays_b, answered_ms"
                     " FROM judgments").fetchall()
    db.close()
    assert len(row) == 1 and row[0][:3] == ("s1", 0, "A") and row[0][4:] == (1, 2, 99)
    assert json.loads(row[0][3]) == {"rhythm_a": 1, "harmony_a": 2, "coherence_a": 3, "rhythm_b": 4,
                                     "harmony_b": 5, "coherence_b": 1}
