"""Tiny cascades for tests: the ``small`` shapes at a toy width, and their release files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from hafm.checkpoints import RELEASE_FORMAT
from hafm.config import STAGES, CascadeConfig, StageConfig, small
from hafm.model.cascade import Cascade

TINY_STAGE = dict(d_model=32, n_layers=1, n_heads=2, rel_pos_buckets=8, rel_pos_max_distance=32, max_len=256)


def tiny_stage(name: str = "coarse", **overrides) -> StageConfig:
    """Stage ``name`` of the ``small`` cascade (streams, codebooks, vocabularies, rates) at the
    toy width of ``TINY_STAGE``; ``overrides`` set any other field (e.g. smaller vocabularies)."""
    return dataclasses.replace(small().stage(name), **{**TINY_STAGE, **overrides})


def tiny_config(max_len: int = 256, **stage_overrides) -> CascadeConfig:
    """The ``small`` cascade with every stage a :func:`tiny_stage`."""
    stages = {name: tiny_stage(name, max_len=max_len, **stage_overrides) for name in STAGES}
    return dataclasses.replace(small(), **stages)


def tiny_cascade(seed: int = 0, max_len: int = 256) -> Cascade:
    """A randomly initialised (seeded) three-stage cascade of :func:`tiny_config`, in eval mode."""
    return Cascade.from_config(tiny_config(max_len), seed=seed)


def save_release(cascade: Cascade, folder: str | Path) -> Path:
    """Write ``cascade``'s stages as release files ``folder/<stage>.pt``: a folder that every
    ``--checkpoints DIR`` option (``hafm generate``, ``evaluate-cascade``, the benchmark) loads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in STAGES:
        lm = cascade.stage(name)
        meta = {"format": RELEASE_FORMAT, "stage": name, "step": 0}
        torch.save({"model": lm.state_dict(), "config": dataclasses.asdict(lm.cfg), "meta": meta},
                   folder / f"{name}.pt")
    return folder
