"""Evidence of learning: unigram baseline, swapped conditions, the CSV/markdown report, `hafm evaluate-cascade`."""

import csv
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from hafm import cascade_report
from hafm.checkpoints import load_stage_model
from hafm.config import to_toml
from hafm.data.shards import save_shard
from hafm.data.stage_data import fixed_batches, fixed_windows, stage_track
from hafm.train import train_stage


def test_unigram_of_uniform_tokens_costs_log_vocab():
    rng = np.random.default_rng(0)
    shard = {"semantic_vocals": rng.integers(0, 16, 4000), "semantic_accomp": rng.integers(0, 16, 4000),
             "acoustic_accomp": rng.integers(0, 32, (8, 6000))}
    tracks = [stage_track("a", shard, "coarse")]
    batches = fixed_batches(tracks, fixed_windows(tracks, 100, 10), 100, 4)
    ce = cascade_report.unigram_ce(cascade_report.unigram_log_probs(tracks, 32), batches)
    assert ce == pytest.approx(math.log(32), abs=0.02)


def test_swapped_windows_always_come_from_another_track(tracks):
    stage_tracks = tracks("semantic")
    windows = fixed_windows(stage_tracks, 5, 40)
    swapped = cascade_report.swapped_windows(stage_tracks, windows, 5)
    assert all(a[0] != b[0] for a, b in zip(windows, swapped))
    assert all(0 <= s <= stage_tracks[t].n_blocks - 5 for t, s in swapped)


def test_trained_model_beats_its_own_swapped_condition(tmp_path, tracks, tiny_config):
    cfg = tiny_config(max_steps=60, eval_every=60)
    train_stage(cfg, "semantic", tmp_path, tracks=tracks("semantic"), progress=False)
    evidence = cascade_report.evaluate_stage(load_stage_model(tmp_path / "checkpoint.pt"), "semantic",
                                             tracks("semantic"), tracks("semantic"), 0.4, step=60)
    assert evidence.val_ce["trained"] < evidence.val_ce["swapped_condition"]


def test_learned_requires_the_full_ordering():
    good = cascade_report.StageEvidence("fine", {"trained": 1.0, "swapped_condition": 2.0, "unigram": 3.0}, 4, 6.0, 10)
    bad = cascade_report.StageEvidence("fine", {"trained": 1.0, "swapped_condition": 3.5, "unigram": 3.0}, 4, 6.0, 10)
    assert good.learned and not bad.learned


def test_report_csv_has_exactly_the_agreed_columns(tmp_path):
    evidence = [cascade_report.StageEvidence(s, {"trained": 1.0, "swapped_condition": 2.0, "unigram": 3.0}, 4, 6.0, 10)
                for s in ("semantic", "coarse", "fine")]
    csv_path, md_path = cascade_report.write_report(evidence, tmp_path, {}, [], {"commit": "x"})
    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert list(rows[0]) == ["stage", "model", "val_ce"] and len(rows) == 9
    assert "| fine | 10 |" in md_path.read_text()


@pytest.mark.slow
def test_evaluate_cascade_command_writes_table_and_curves(tmp_path, shards, tiny_config):
    for i, (name, arrays) in enumerate(shards.items()):
        save_shard(tmp_path / "shards" / ("test" if i < 3 else "train") / f"{name}.npz", arrays, {"track": name})
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(tiny_config(max_steps=4, eval_every=2)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["--config", str(config), "--shards", str(tmp_path / "shards")]
    subprocess.run([sys.executable, "-m", "hafm", "train-all", *common, "--out", str(tmp_path / "runs"),
                    "--export", str(tmp_path / "release"), "--no-progress"], env=env, check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "hafm", "evaluate-cascade", *common, "--checkpoints", str(tmp_path / "runs"),
                    "--out", str(tmp_path / "results"), "--samples", "0"], env=env, check=True, timeout=300)
    rows = list(csv.DictReader((tmp_path / "results" / "cascade.csv").read_text().splitlines()))
    assert [(r["stage"], r["model"]) for r in rows][:3] == [("semantic", m) for m in cascade_report.MODELS]
    assert sorted(p.name for p in (tmp_path / "results").glob("*.png")) == [
        "cascade_loss_coarse.png", "cascade_loss_fine.png", "cascade_loss_semantic.png"]
    # release files without their runs: the table is rewritten, the curves drawn before stay linked
    subprocess.run([sys.executable, "-m", "hafm", "evaluate-cascade", *common,
                    "--checkpoints", str(tmp_path / "release"), "--runs", str(tmp_path / "no_runs"),
                    "--out", str(tmp_path / "results"), "--samples", "0"], env=env, check=True, timeout=300)
    assert (tmp_path / "results" / "cascade.md").read_text().count("](cascade_loss_") == 3


@pytest.mark.slow
def test_evaluate_cascade_samples_the_songs_of_a_stem_mp4_tree(make_stems_tree, tmp_path, monkeypatch):
    from hafm.cli import main
    from hafm.data.tokenize import build_shards
    from hafm.testing import EnergySemantic, ToneCodec, save_release, tiny_cascade, use_stand_in_tokenizers

    corpus = make_stems_tree(songs=2)  # the swapped-condition baseline needs two test songs
    use_stand_in_tokenizers(monkeypatch)
    build_shards(corpus, tmp_path / "shards", ToneCodec, EnergySemantic, workers=1, progress=False)
    save_release(tiny_cascade(max_len=1024), tmp_path / "release")
    (tmp_path / "window.toml").write_text("[train]\nwindow_seconds = 0.4\n")
    out = tmp_path / "results"
    assert main(["evaluate-cascade", "--config", str(tmp_path / "window.toml"), "--shards", str(tmp_path / "shards"),
                 "--checkpoints", str(tmp_path / "release"), "--corpus", str(corpus), "--samples", "1",
                 "--sample-seconds", "1", "--max-windows", "4", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "cascade_samples").iterdir()) == [
        f"song test_{kind}" for kind in ("accompaniment.wav", "mix.wav", "spectrogram.png", "two_stage.wav")]


def test_validation_evaluation_reads_held_out_training_songs_and_a_unigram_of_the_others(monkeypatch):
    from types import SimpleNamespace

    from hafm.commands.evaluate_cascade import _evaluation_tracks
    from hafm.data import splits

    songs = {"train": [SimpleNamespace(name=f"bwv{i}") for i in range(40)], "test": [SimpleNamespace(name="bwv999")]}
    monkeypatch.setattr("hafm.data.stage_data.load_stage_tracks", lambda shards, split, *_: songs[split])
    evaluated, unigram = _evaluation_tracks("shards", "fine", "validation")
    fit, val = splits.split_train_val([t.name for t in songs["train"]])
    assert [t.name for t in evaluated] == val and [t.name for t in unigram] == fit and val
    assert _evaluation_tracks("shards", "fine", "test") == (songs["test"], songs["train"])
