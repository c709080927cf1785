import json

import pytest

from benchmark import registry
from benchmark.cli import main

from .conftest import write_songs


def test_clips_export_command_writes_the_clips_and_manifest(tiny_musdb, tmp_path):
    (tmp_path / "bench.toml").write_text("clip_seconds = 4.0\n")
    code = main(["clips", "export", str(tmp_path / "clips"), "--root", str(tiny_musdb), "--results",
                 str(tmp_path / "results"), "--config", str(tmp_path / "bench.toml"), "--max-clips", "2"])
    manifest = json.loads((tmp_path / "clips" / "manifest.json").read_text())
    assert code == 0 and len(manifest["clips"]) == 2 and len(list((tmp_path / "clips").glob("*.wav"))) == 2


def test_malformed_system_dir_fails_before_any_work(tmp_path, capsys):
    assert main(["run", "--root", str(tmp_path), "--system-dir", "no-equals-sign"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err


def test_tables_on_an_empty_folder_names_the_run_command(tmp_path, capsys):
    assert main(["tables", "--out", str(tmp_path)]) == 2
    assert "python -m benchmark run" in capsys.readouterr().err


@pytest.fixture(scope="module")
def stem_run(tmp_path_factory):
    """``python -m benchmark run`` on a MUSDB18 ``.stem.mp4`` tree (4 + 4 songs of 5 s: the reference's
    split-half floor needs 4 songs): every system, a tiny random cascade, musicnn FAD, one 4 s clip per
    song. Returns ``(corpus, results)``."""
    pytest.importorskip("stempeg")
    from hafm.testing import save_release, tiny_cascade

    tmp = tmp_path_factory.mktemp("stem_run")
    corpus = write_songs(tmp / "musdb18", 4, 5.0, stem_mp4=True)
    save_release(tiny_cascade(max_len=1024), tmp / "cascade")
    (tmp / "bench.toml").write_text("clip_seconds = 4.0\nclips_per_song = 1\nreference_clips_per_song = 1\n"
                                    "bootstrap = 10\nworkers = 1\nbatch = 4\n")
    assert main(["run", "--root", str(corpus), "--out", str(tmp / "results"), "--config", str(tmp / "bench.toml"),
                 "--backends", "musicnn", "--checkpoints", str(tmp / "cascade")]) == 0
    return corpus, tmp / "results"


@pytest.mark.slow
def test_run_command_scores_every_system_on_a_stem_mp4_tree(stem_run):
    stats = json.loads((stem_run[1] / "stats" / "fad_stats.json").read_text())
    assert {r["system"] for r in stats["fad"]} == set(registry.names())
    assert stats["meta"]["n_clips"] == 4 and stats["meta"]["n_songs"] == 4


@pytest.mark.slow
def test_stimuli_command_exports_a_stem_mp4_run(stem_run, tmp_path):
    corpus, results = stem_run
    assert main(["stimuli", "--results", str(results), "--root", str(corpus), "--out", str(tmp_path / "src"),
                 "--max-items", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == sorted([*registry.names(), "vocals"])
    assert len(list((tmp_path / "src" / "vocals").glob("*.wav"))) == 2
