"""Run under torchrun by test_train_ddp.py: trains the tiny semantic stage, rank 0 writes the losses.

Usage: ``torchrun --nproc-per-node N ddp_worker.py OUT_DIR BATCH_SIZE``.
"""

import json
import sys
from pathlib import Path

from conftest import (  # the script's folder is on sys.path
    learnable_shard,
    make_tiny_config,
)

from hafm.data.stage_data import stage_track
from hafm.runtime import configure_threads
from hafm.train import train_stage

if __name__ == "__main__":
    out, batch_size = Path(sys.argv[1]), int(sys.argv[2])
    configure_threads(1)
    tracks = [stage_track(f"song{i:02d}", learnable_shard(60 + 10 * (i % 3), i), "semantic") for i in range(8)]
    result = train_stage(make_tiny_config(dropout=0.0, batch_size=batch_size, max_steps=4), "semantic", out,
                         tracks=tracks, progress=False)
    losses = [loss for _, loss in result.train_losses]
    Path(out, f"losses_rank{int(__import__('os').environ.get('RANK', '0'))}.json").write_text(json.dumps(losses))
