"""Tiny stage configurations so model tests run in milliseconds."""

from __future__ import annotations

import pytest
import torch

from hafm.config import StageConfig
from hafm.model import StageLM
from hafm.testing import tiny_stage as kit_stage

MODEL_TEST_STAGE = dict(n_layers=2, dropout=0.0, prefix_vocab=11, target_vocab=13)


def tiny_stage(name: str = "coarse", **overrides) -> StageConfig:
    """The kit's tiny stage ``name`` with two layers and small vocabularies (11 prefix, 13 target codes)."""
    return kit_stage(name, **{**MODEL_TEST_STAGE, **overrides})


@pytest.fixture
def tiny_lm() -> StageLM:
    torch.manual_seed(0)
    return StageLM(tiny_stage()).eval()


@pytest.fixture
def coarse_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Prefix ``[2, 2, 8]`` (two semantic streams) and target ``[2, 4, 12]`` (four codebooks)."""
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 11, (2, 2, 8), generator=g), torch.randint(0, 13, (2, 4, 12), generator=g)
