"""Tiny cascade configs and learnable fake token tracks for the training tests."""

import dataclasses

import numpy as np
import pytest

from hafm.config import STAGES, CascadeConfig, StageConfig, TrainConfig, small
from hafm.data.stage_data import stage_track
from hafm.testing import tiny_stage

SEMANTIC_VOCAB = 16
ACOUSTIC_VOCAB = 32


def learnable_stage(name: str, dropout: float = 0.1) -> StageConfig:
    """The kit's tiny stage ``name`` over the small vocabularies of :func:`learnable_shard`."""
    prefix_vocab = SEMANTIC_VOCAB if name in ("semantic", "coarse") else ACOUSTIC_VOCAB
    target_vocab = SEMANTIC_VOCAB if name == "semantic" else ACOUSTIC_VOCAB
    return tiny_stage(name, prefix_vocab=prefix_vocab, target_vocab=target_vocab, dropout=dropout)


def make_tiny_config(dropout: float = 0.1, **train) -> CascadeConfig:
    base = small()
    defaults = {"window_seconds": 0.4, "batch_size": 4, "grad_accum": 1, "lr": 3e-3, "warmup_steps": 2,
                "max_steps": 12, "eval_every": 4, "eval_batches": 2, "checkpoint_every": 4, "val_fraction": 0.25,
                "seed": 0}
    stages = {name: learnable_stage(name, dropout) for name in STAGES}
    return dataclasses.replace(base, **stages, train=TrainConfig(**{**defaults, **train}))


def learnable_shard(t_semantic: int, seed: int) -> dict:
    """Accompaniment tokens are functions of the vocal at the aligned frame, so conditioning helps."""
    rng = np.random.default_rng(seed)
    vocals = rng.integers(0, SEMANTIC_VOCAB, t_semantic)
    accomp = (3 * vocals + 1) % SEMANTIC_VOCAB
    aligned = np.arange(t_semantic * 3 // 2) * 2 // 3
    coarse = np.stack([(accomp[aligned] * 2 + k) % ACOUSTIC_VOCAB for k in range(4)])
    fine = (coarse * 5 + 7) % ACOUSTIC_VOCAB
    return {"semantic_vocals": vocals, "semantic_accomp": accomp, "acoustic_accomp": np.concatenate([coarse, fine]),
            "onset_vocals": (vocals == 0).astype(np.int16)}


@pytest.fixture
def shards() -> dict[str, dict]:
    return {f"song{i:02d}": learnable_shard(60 + 10 * (i % 3), i) for i in range(8)}


@pytest.fixture
def tracks(shards):
    def for_stage(stage: str):
        return [stage_track(name, shard, stage) for name, shard in shards.items()]

    return for_stage


@pytest.fixture
def tiny_config():
    """Factory: ``tiny_config(dropout=0.1, **train_overrides) -> CascadeConfig`` of 1-layer, d=32 stages."""
    return make_tiny_config
