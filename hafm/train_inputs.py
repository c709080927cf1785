"""What a stage run starts from: its fitting and validation tracks (with fitting-only
augmentation) and, when fine-tuning, the weights of an earlier run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch
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


def augment_tracks(augment_dir: str, shard_dir: str | Path | None, stage: str,
                   vocal_onsets: bool = False) -> list[StageTrack]:
    """The stage tracks of ``augment_dir`` (none for ""), refused when other tokenizers than those of
    ``shard_dir`` made them: mixed token vocabularies would train silently on nonsense."""
    if not augment_dir:
        return []
    if shard_dir is not None:
        codec_id, semantic_id = tokenizer_ids(shard_dir)
        list_shards(augment_dir, "train", codec_id, semantic_id)
    return load_stage_tracks(augment_dir, "train", stage, vocal_onsets)


def init_weights(model: nn.Module, path: str, stage: str, stage_cfg: StageConfig) -> None:
    """Fine-tuning: start from the weights in ``path``, which must be a model of the same stage config,
    or the same model without ``vocal_onsets`` when ``stage_cfg`` adds them (see ``with_onset_stream``)."""
    saved_cfg, weights = load_stage_weights(path)
    if stage_cfg.vocal_onsets and not saved_cfg.vocal_onsets:
        saved_cfg, weights = replace(saved_cfg, vocal_onsets=True), with_onset_stream(weights, saved_cfg)
    if saved_cfg != stage_cfg:
        raise HafmError(f"{path} holds another model than the {stage!r} stage asked for "
                        f"(saved: {asdict(saved_cfg)}, asked: {asdict(stage_cfg)}); check --init-from")
    model.load_state_dict(weights)


def with_onset_stream(weights: dict[str, torch.Tensor], cfg: StageConfig) -> dict[str, torch.Tensor]:
    """A stage's weights with an onset stream added to the prefix embedding, its table all zeros:
    the model computes exactly what it did (an all-zero stream adds nothing), and fine-tuning
    learns what the onsets add."""
    emb = weights["prefix_emb.weight"]
    rows = cfg.prefix_vocab + 1  # one table per stream, each with the null token
    if emb.shape[0] != cfg.condition_streams * rows:
        raise HafmError(f"prefix embedding has {emb.shape[0]} rows; expected {cfg.condition_streams} x {rows}")
    return {**weights, "prefix_emb.weight": torch.cat([emb, emb.new_zeros(rows, emb.shape[1])])}
