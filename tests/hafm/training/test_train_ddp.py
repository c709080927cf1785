"""DistributedDataParallel on 2 CPU processes (gloo): same curve as one process with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hafm.metrics_log import read_metrics

WORKER = Path(__file__).with_name("ddp_worker.py")


def _run(out: Path, nproc: int, batch_size: int) -> list[float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           str(WORKER), str(out), str(batch_size)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "losses_rank0.json").read_text())


@pytest.mark.slow
def test_two_ranks_reproduce_one_process_with_the_same_global_batch(tmp_path):
    single = _run(tmp_path / "one", nproc=1, batch_size=4)
    distributed = _run(tmp_path / "two", nproc=2, batch_size=2)
    assert distributed == pytest.approx(single, rel=1e-4)


@pytest.mark.slow
def test_only_rank_zero_writes_checkpoint_and_metrics(tmp_path):
    _run(tmp_path, nproc=2, batch_size=2)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [int(r["step"]) for r in rows if r["split"] == "train"] == [1, 2, 3, 4]
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["best.pt", "checkpoint.pt"]
