"""Tiny stage configurations so model tests run in milliseconds."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hafm.config import StageConfig, small
from hafm.model import StageLM


def tiny_stage(name: str = "coarse", **overrides) -> StageConfig:
    """The ``small`` shapes of stage ``name`` (streams, codebooks, rates) at a toy width."""
    base = dict(d_model=32, n_layers=2, n_heads=2, dropout=0.0, rel_pos_buckets=8,
                rel_pos_max_distance=32, max_len=256, prefix_vocab=11, target_vocab=13)
    base.update(overrides)
    return dataclasses.replace(small().stage(name), **base)


@pytest.fixture
def tiny_lm() -> StageLM:
    torch.manual_seed(0)
    return StageLM(tiny_stage()).eval()


@pytest.fixture
def coarse_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Prefix ``[2, 2, 8]`` (two semantic streams) and target ``[2, 4, 12]`` (four codebooks)."""
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 11, (2, 2, 8), generator=g), torch.randint(0, 13, (2, 4, 12), generator=g)
