"""Resuming: an interrupted run continues bit-exactly; mismatched or missing checkpoints are refused."""

import dataclasses

import pytest

from hafm.errors import HafmError
from hafm.metrics_log import read_metrics
from hafm.train import train_stage


def _losses(result):
    return [loss for _, loss in result.train_losses]


def test_resumed_run_reproduces_the_uninterrupted_loss_curve(tmp_path, tracks, tiny_config):
    cfg = tiny_config(max_steps=12, checkpoint_every=3)
    straight = train_stage(cfg, "coarse", tmp_path / "straight", tracks=tracks("coarse"), progress=False)
    first = train_stage(cfg, "coarse", tmp_path / "split", tracks=tracks("coarse"), stop_at_step=6, progress=False)
    second = train_stage(cfg, "coarse", tmp_path / "split", tracks=tracks("coarse"), progress=False)
    assert first.stopped == "stop_at_step" and _losses(first) + _losses(second) == _losses(straight)


def test_resume_after_a_lost_tail_replays_from_the_checkpoint(tmp_path, tracks, tiny_config):
    """Steps logged after the last checkpoint (as after kill -9) are dropped from metrics.csv and retrained."""
    cfg = tiny_config(max_steps=10, checkpoint_every=4)
    straight = train_stage(cfg, "semantic", tmp_path / "straight", tracks=tracks("semantic"), progress=False)
    out = tmp_path / "killed"
    train_stage(cfg, "semantic", out, tracks=tracks("semantic"), stop_at_step=4, progress=False)
    with open(out / "metrics.csv", "a") as f:  # rows of steps 5-6 that a killed run logged but never saved
        f.write("5,train,9.9,9.9,0.001,1.0,1.0\n6,train,9.")
    train_stage(cfg, "semantic", out, tracks=tracks("semantic"), progress=False)
    logged = [float(r["loss"]) for r in read_metrics(out / "metrics.csv") if r["split"] == "train"]
    assert logged == pytest.approx(_losses(straight), rel=1e-5)


def test_resume_flag_without_a_checkpoint_is_refused(tmp_path, tracks, tiny_config):
    with pytest.raises(HafmError, match="does not exist"):
        train_stage(tiny_config(), "semantic", tmp_path, tracks=tracks("semantic"), require_checkpoint=True,
                    progress=False)


def test_checkpoint_of_another_model_config_is_refused(tmp_path, tracks, tiny_config):
    cfg = tiny_config(max_steps=2)
    train_stage(cfg, "semantic", tmp_path, tracks=tracks("semantic"), progress=False)
    wider = dataclasses.replace(cfg, semantic=dataclasses.replace(cfg.semantic, d_model=64))
    with pytest.raises(HafmError, match="differs"):
        train_stage(wider, "semantic", tmp_path, tracks=tracks("semantic"), progress=False)
