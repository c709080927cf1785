"""Find musicnn's pretrained checkpoints inside the installed ``musicnn==0.1.0`` wheel and load them.

The wheel cannot be installed with its declared dependencies on Python 3.11 (TensorFlow 1.x,
numpy < 1.17), but its files are all we need: ``pip install --no-deps musicnn==0.1.0``.
Nothing is downloaded.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from pathlib import Path

from hafm.errors import MissingWeightsError
from hafm.musicnn.checkpoint import read_checkpoint
from hafm.musicnn.models import Musicnn, MusicnnVGG, load_tf_weights

MODEL_NAMES = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
CHECKPOINT_SUFFIXES = (".index", ".data-00000-of-00001")
INSTALL_HINT = "pip install --no-deps musicnn==0.1.0"


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def checkpoint_prefix(name: str) -> str:
    """Path prefix of model ``name``'s TF checkpoint in the wheel (``.../musicnn/<name>/``).

    Raises ``MissingWeightsError`` naming the missing file and the install command.
    """
    _check_name(name)
    if importlib.util.find_spec("musicnn") is None:
        raise MissingWeightsError(f"the musicnn package (weights of {name}) is not installed; run: {INSTALL_HINT}")
    model_dir = Path(str(importlib.resources.files("musicnn"))) / name
    for suffix in CHECKPOINT_SUFFIXES:
        if not (model_dir / suffix).is_file():
            raise MissingWeightsError(f"missing musicnn checkpoint file {model_dir / suffix}; run: {INSTALL_HINT}")
    return str(model_dir) + os.sep  # the files are named ".index" etc. inside the folder


def tag_names(name: str) -> list[str]:
    """The 50 tag names of model ``name`` (MagnaTagATune or Million Song Dataset), from the wheel."""
    _check_name(name)
    checkpoint_prefix(name)
    from musicnn import configuration  # constants only; importing it needs no TensorFlow

    return list(configuration.MTT_LABELS if name.startswith("MTT") else configuration.MSD_LABELS)


def load_musicnn(name: str) -> Musicnn | MusicnnVGG:
    """Pretrained musicnn model ``name`` (one of ``MODEL_NAMES``) in eval mode, on CPU, float32."""
    tf_vars = read_checkpoint(checkpoint_prefix(name))
    model = Musicnn() if name.endswith("musicnn") else MusicnnVGG()
    load_tf_weights(model, tf_vars)
    model.name = name  # lets embedding functions name their source
    return model.eval().requires_grad_(False)
