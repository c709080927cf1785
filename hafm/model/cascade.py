"""The three-stage cascade: semantic -> coarse -> fine stage LMs, and where their weights live.

Weights are one file per stage, ``{stage}.pt``, as written by the trainer (``hafm.checkpoints``:
a release file ``{"model", "config", "meta"}`` or a full training checkpoint). The shipped ones
are ``hafm/assets/cascade/{semantic,coarse,fine}.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from hafm.config import STAGES, CascadeConfig
from hafm.errors import HafmError, MissingWeightsError
from hafm.model.lm import StageLM

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "cascade"


@dataclass
class Cascade:
    """The stage LMs, in eval mode. ``fine`` is None for a two-stage cascade."""

    semantic: StageLM
    coarse: StageLM
    fine: StageLM | None = None

    def stage(self, name: str) -> StageLM:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; expected one of {STAGES}")
        model = getattr(self, name)
        if model is None:
            raise MissingWeightsError(f"this cascade has no {name!r} stage; load it with that stage's weights")
        return model

    @classmethod
    def from_config(cls, cfg: CascadeConfig, seed: int = 0) -> "Cascade":
        """Randomly initialised stages (seeded): for tests and speed benchmarks."""
        torch.manual_seed(seed)
        return cls(*(StageLM(cfg.stage(name)).eval() for name in STAGES))

    def to(self, device: torch.device | str) -> "Cascade":
        """Move every stage to ``device`` (in place); returns the cascade."""
        for name in STAGES:
            model = getattr(self, name)
            if model is not None:
                model.to(device)
        return self

    def num_parameters(self) -> dict[str, int]:
        return {name: getattr(self, name).num_parameters() for name in STAGES if getattr(self, name) is not None}


def stage_paths(path_or_name: str | Path | None = None) -> dict[str, Path]:
    """``{stage: file}`` for a checkpoint directory (``None`` or ``"default"``: the shipped one)."""
    folder = SHIPPED_DIR if path_or_name in (None, "default") else Path(path_or_name)
    return {name: folder / f"{name}.pt" for name in STAGES}


def load_cascade(path_or_name: str | Path | None = None, stages: int = 3) -> Cascade:
    """Load the stage LMs from a directory holding ``semantic.pt``, ``coarse.pt``, ``fine.pt``.

    ``stages=2`` loads only the semantic and coarse stages (the two-stage ablation needs no fine
    stage). Raises :class:`MissingWeightsError` naming every missing file.
    """
    from hafm.checkpoints import load_stage_model

    if stages not in (2, 3):
        raise ValueError(f"stages must be 2 or 3, got {stages}")
    paths = stage_paths(path_or_name)
    wanted = STAGES[:stages]
    missing = [str(paths[name]) for name in wanted if not paths[name].is_file()]
    if missing:
        raise MissingWeightsError(
            "cascade weights not found: " + ", ".join(missing)
            + ". Train them (`nox -s train`, or `hafm train` per stage) or pass --checkpoints DIR.")
    models = {name: load_stage_model(paths[name]) for name in wanted}
    for name, model in models.items():
        if model.cfg.name != name:
            raise HafmError(f"{paths[name]} holds the {model.cfg.name!r} stage, not {name!r}")
    return Cascade(**models)
