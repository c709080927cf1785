"""Training checkpoints (everything needed to resume bit-exactly) and small release exports.

A training checkpoint holds model, optimiser and scheduler states, every RNG state (python,
numpy, torch CPU and CUDA, data sampler), the step, elapsed training time and the whole config;
``config.toml`` is written next to it. A release file holds only ``{"model", "config", "meta"}``
with fp16 weights: what ships in ``hafm/assets/cascade/{stage}.pt``.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hafm.config import CascadeConfig, StageConfig, from_dict, to_toml
from hafm.errors import HafmError, MissingWeightsError
from hafm.fileio import atomic_save, atomic_write_text

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"  # the weights with the lowest validation loss so far (what gets shipped)
CONFIG_NAME = "config.toml"
RELEASE_FORMAT = 1


def rng_states() -> dict[str, Any]:
    """Every global RNG state the training step touches."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(out_dir: str | Path, state: dict[str, Any], cfg: CascadeConfig) -> Path:
    """Write ``checkpoint.pt`` and ``config.toml`` in ``out_dir`` atomically; return the checkpoint path."""
    out_dir = Path(out_dir)
    path = out_dir / CHECKPOINT_NAME
    atomic_save(path, lambda tmp: torch.save({**state, "config": cfg.to_dict()}, tmp))
    atomic_write_text(out_dir / CONFIG_NAME, to_toml(cfg))
    return path


def save_best(out_dir: str | Path, model: torch.nn.Module, stage: str, step: int, val_loss: float,
              cfg: CascadeConfig) -> Path:
    """Write ``best.pt`` (weights, stage, step, validation loss, config) atomically."""
    path = Path(out_dir) / BEST_NAME
    state = {"model": model.state_dict(), "stage": stage, "step": step, "val_loss": float(val_loss),
             "config": cfg.to_dict()}
    atomic_save(path, lambda tmp: torch.save(state, tmp))
    return path


def best_val_loss(out_dir: str | Path) -> float:
    """The validation loss of ``out_dir/best.pt`` (inf when there is none yet)."""
    path = Path(out_dir) / BEST_NAME
    if not path.is_file():
        return float("inf")
    return float(torch.load(path, map_location="cpu", weights_only=True)["val_loss"])


def selected_checkpoint(run_dir: str | Path) -> Path:
    """What a finished run ships: ``best.pt`` (lowest validation loss) when present, else the last checkpoint."""
    best = Path(run_dir) / BEST_NAME
    return best if best.is_file() else Path(run_dir) / CHECKPOINT_NAME


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint (trusted: written by this toolkit; it holds RNG states, hence full unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a truncated or foreign file: say which one
        raise HafmError(f"cannot read checkpoint {path}: {err}") from err


def config_of(checkpoint: dict[str, Any]) -> CascadeConfig:
    """The :class:`CascadeConfig` a training checkpoint was made with."""
    return from_dict(checkpoint["config"])


def export_release(checkpoint_path: str | Path, out_path: str | Path, half: bool = True) -> Path:
    """Write the model weights (fp16 when ``half``) and stage config of a training checkpoint."""
    checkpoint = load_checkpoint(checkpoint_path)
    stage = checkpoint["stage"]
    stage_cfg = config_of(checkpoint).stage(stage)
    weights = {
        k: (v.half() if half and v.is_floating_point() else v).clone() for k, v in checkpoint["model"].items()
    }
    release = {
        "model": weights,
        "config": dataclasses.asdict(stage_cfg),
        "meta": {"format": RELEASE_FORMAT, "stage": stage, "step": checkpoint["step"],
                 "val_loss": checkpoint.get("val_loss")},
    }
    atomic_save(out_path, lambda tmp: torch.save(release, tmp))
    return Path(out_path)


def load_stage_weights(path: str | Path) -> tuple[StageConfig, dict[str, torch.Tensor]]:
    """Stage config and fp32 state dict from a release file or a training checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"no stage weights at {path}; train them with `hafm train` or `hafm train-all`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # training checkpoints hold RNG states that weights_only refuses
        blob = load_checkpoint(path)
    if "stage" in blob:  # a training checkpoint
        stage_cfg = config_of(blob).stage(blob["stage"])
    else:
        stage_cfg = StageConfig(**blob["config"])
    weights = {k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()}
    return stage_cfg, weights


def load_stage_model(path: str | Path) -> torch.nn.Module:
    """A :class:`hafm.model.lm.StageLM` in eval mode from a release file or a training checkpoint."""
    from hafm.model.lm import StageLM

    stage_cfg, weights = load_stage_weights(path)
    model = StageLM(stage_cfg)
    model.load_state_dict(weights)
    return model.eval()
