"""What a stage run starts from: its fitting and validation tracks (with fitting-only
augmentation) and, when fine-tuning, the weights of an earlier run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from torch import nn

from hafm.checkpoints import load_stage_weights
from hafm.config import StageConfig, TrainConfig
from hafm.data.shards import list_shards, tokenizer_ids
from hafm.data.splits import song_of, split_train_val
from hafm.data.stage_data import StageTrack, load_stage_tracks
from hafm.errors import HafmError


def fit_and_validation(tracks: Sequence[StageTrack], augment: Sequence[StageTrack],
                       tcfg: TrainConfig) -> tuple[list[StageTrack], list[StageTrack]]:
    """``(fit, validation)``: the validation split of ``tracks``; augmentation renderings join the
    fitting tracks unless they render a validation song (validation stays un-augmented and unseen)."""
    train_names, val_names = split_train_val([t.name for t in tracks], tcfg.val_fraction, tcfg.seed)
    by_name = {t.name: t for t in tracks}
    held_out = {song_of(n) for n in val_names}
    extra = [t for t in augment if song_of(t.name) not in held_out]
    return [by_name[n] for n in train_names] + extra, [by_name[n] for n in val_names]


def augment_tracks(augment_dir: str, shard_dir: str | Path | None, stage: str) -> list[StageTrack]:
    """The stage tracks of ``augment_dir`` (none for ""), refused when other tokenizers than those of
    ``shard_dir`` made them: mixed token vocabularies would train silently on nonsense."""
    if not augment_dir:
        return []
    if shard_dir is not None:
        codec_id, semantic_id = tokenizer_ids(shard_dir)
        list_shards(augment_dir, "train", codec_id, semantic_id)
    return load_stage_tracks(augment_dir, "train", stage)


def init_weights(model: nn.Module, path: str, stage: str, stage_cfg: StageConfig) -> None:
    """Fine-tuning: start from the weights in ``path``, which must be a model of the same stage config."""
    saved_cfg, weights = load_stage_weights(path)
    if saved_cfg != stage_cfg:
        raise HafmError(f"{path} holds another model than the {stage!r} stage asked for "
                        f"(saved: {asdict(saved_cfg)}, asked: {asdict(stage_cfg)}); check --init-from")
    model.load_state_dict(weights)
