"""`hafm train` / `hafm train-all` on shard files: kill -9 mid-run and resume, release export."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hafm.config import to_toml
from hafm.data.shards import save_shard
from hafm.metrics_log import read_metrics


@pytest.fixture
def shard_dir(tmp_path, shards):
    for name, arrays in shards.items():
        save_shard(tmp_path / "shards" / "train" / f"{name}.npz", arrays, {"track": name})
    return tmp_path / "shards"


@pytest.fixture
def config_file(tmp_path, tiny_config):
    path = tmp_path / "tiny.toml"
    path.write_text(to_toml(tiny_config(checkpoint_every=5, eval_every=50)))
    return path


def _hafm(*args: str) -> list[str]:
    return [sys.executable, "-m", "hafm", *args]


def _train_losses(run_dir) -> list[float]:
    return [float(r["loss"]) for r in read_metrics(run_dir / "metrics.csv") if r["split"] == "train"]


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_to_the_same_curve(tmp_path, shard_dir, config_file):
    args = ["train", "--stage", "semantic", "--config", str(config_file), "--shards", str(shard_dir),
            "--max-steps", "200", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_hafm(*args, "--out", str(tmp_path / "straight")), env=env, check=True, timeout=300)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_hafm(*args, "--out", str(killed)), env=env)
    while len(_train_losses(killed)) < 12 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    subprocess.run(_hafm(*args, "--out", str(killed), "--resume"), env=env, check=True, timeout=300)
    assert _train_losses(killed) == _train_losses(tmp_path / "straight")


def test_train_all_exports_small_release_files(tmp_path, shard_dir, config_file):
    done = subprocess.run(
        _hafm("train-all", "--config", str(config_file), "--shards", str(shard_dir), "--out", str(tmp_path / "runs"),
              "--export", str(tmp_path / "release"), "--max-steps", "2", "--no-progress"),
        env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    weights = torch.load(tmp_path / "release" / "coarse.pt", weights_only=True)["model"]
    assert sorted(p.name for p in (tmp_path / "release").iterdir()) == ["coarse.pt", "fine.pt", "semantic.pt"]
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float16}


def test_resume_flag_without_checkpoint_fails_with_a_clear_message(tmp_path, shard_dir, config_file):
    done = subprocess.run(
        _hafm("train", "--stage", "fine", "--config", str(config_file), "--shards", str(shard_dir),
              "--out", str(tmp_path / "none"), "--resume"), capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2 and "does not exist" in done.stderr


@pytest.mark.slow
def test_sigterm_checkpoints_the_last_step_and_exits_cleanly(tmp_path, shard_dir, config_file):
    out = tmp_path / "run"
    proc = subprocess.Popen(_hafm("train", "--stage", "semantic", "--config", str(config_file), "--shards",
                                  str(shard_dir), "--out", str(out), "--max-steps", "100000", "--no-progress"),
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    while len(_train_losses(out)) < 7 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=False)
    assert checkpoint["step"] == len(_train_losses(out)) >= 7
