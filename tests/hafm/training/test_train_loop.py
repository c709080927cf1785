"""The training loop on a tiny StageLM: learning, metrics, checkpoints, limits, accumulation."""

import itertools
import math

import pytest
import torch

from hafm.checkpoints import export_release, load_checkpoint, load_stage_model
from hafm.config import load_config
from hafm.data.stage_data import fixed_batches, fixed_windows
from hafm.metrics_log import read_metrics
from hafm.optim import lr_factor
from hafm.train import evaluate_batches, train_stage


def test_lr_warms_up_linearly_then_decays_to_the_floor():
    factors = [lr_factor(i, warmup_steps=4, max_steps=20, min_ratio=0.1) for i in range(20)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in itertools.pairwise(factors[3:])) and math.isclose(lr_factor(20, 4, 20, 0.1), 0.1)


@pytest.mark.parametrize("stage", ["semantic", "coarse", "fine"])
def test_validation_loss_drops_on_every_stage(tmp_path, tracks, tiny_config, stage):
    result = train_stage(tiny_config(max_steps=40, eval_every=20), stage, tmp_path, tracks=tracks(stage),
                         progress=False)
    (first_step, first), (_, last) = result.val_losses[0], result.val_losses[-1]
    assert first_step == 20 and last < first


def test_metrics_csv_has_a_row_per_step_and_per_validation(tmp_path, tracks, tiny_config):
    train_stage(tiny_config(), "coarse", tmp_path, tracks=tracks("coarse"), progress=False)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["split"] for r in rows].count("train") == 12 and [r["split"] for r in rows].count("val") == 3
    assert list(rows[0]) == ["step", "split", "loss", "ce_1", "ce_2", "ce_3", "ce_4", "lr", "tokens_per_s",
                             "elapsed_s"]


def test_checkpoint_holds_everything_needed_to_resume(tmp_path, tracks, tiny_config):
    train_stage(tiny_config(), "semantic", tmp_path, tracks=tracks("semantic"), progress=False)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.pt")
    assert {"model", "optimizer", "scheduler", "rng", "sampler", "step", "config", "stage"} <= set(checkpoint)
    assert set(checkpoint["rng"][0]) >= {"python", "numpy", "torch"} and checkpoint["step"] == 12


def test_config_toml_next_to_the_checkpoint_loads_back(tmp_path, tracks, tiny_config):
    cfg = tiny_config()
    train_stage(cfg, "semantic", tmp_path, tracks=tracks("semantic"), progress=False)
    assert load_config(str(tmp_path / "config.toml")) == cfg


def test_time_limit_stops_with_a_checkpoint(tmp_path, tracks, tiny_config):
    result = train_stage(tiny_config(max_minutes=1e-6), "semantic", tmp_path, tracks=tracks("semantic"),
                         progress=False)
    assert result.stopped == "max_minutes" and result.step == 1
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == result.step


def test_gradient_accumulation_matches_one_big_batch(tmp_path, tracks, tiny_config):
    big = train_stage(tiny_config(dropout=0.0, batch_size=8, max_steps=3), "semantic", tmp_path / "a",
                      tracks=tracks("semantic"), progress=False)
    accumulated = train_stage(tiny_config(dropout=0.0, batch_size=4, grad_accum=2, max_steps=3), "semantic",
                              tmp_path / "b", tracks=tracks("semantic"), progress=False)
    losses = [loss for _, loss in big.train_losses]
    assert [loss for _, loss in accumulated.train_losses] == pytest.approx(losses, rel=1e-5)


def test_release_export_is_fp16_and_keeps_the_validation_loss(tmp_path, tracks, tiny_config):
    cfg = tiny_config(max_steps=20)
    stage_tracks = tracks("fine")
    train_stage(cfg, "fine", tmp_path, tracks=stage_tracks, progress=False)
    release = export_release(tmp_path / "checkpoint.pt", tmp_path / "fine.pt")
    assert set(torch.load(release, weights_only=True)) == {"model", "config", "meta"}
    batches = fixed_batches(stage_tracks, fixed_windows(stage_tracks, 10, 8), 10, 4)
    full = evaluate_batches(load_stage_model(tmp_path / "checkpoint.pt"), batches)["loss"]
    half = evaluate_batches(load_stage_model(release), batches)["loss"]
    assert half == pytest.approx(full, rel=1e-2)


def test_best_checkpoint_keeps_the_lowest_validation_loss(tmp_path, tracks, tiny_config):
    from hafm.checkpoints import best_val_loss, selected_checkpoint

    result = train_stage(tiny_config(max_steps=12, eval_every=4), "coarse", tmp_path, tracks=tracks("coarse"),
                         progress=False)
    best_step, best = min(result.val_losses, key=lambda item: item[1])
    assert best_val_loss(tmp_path) == pytest.approx(best)
    assert selected_checkpoint(tmp_path).name == "best.pt"
    assert load_checkpoint(tmp_path / "best.pt")["step"] == best_step
