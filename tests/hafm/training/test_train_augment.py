"""Fine-tuning inputs of a stage run: fitting-only augmentation tracks and ``train.init_from`` weights."""

import dataclasses

import pytest
import torch

from hafm.checkpoints import export_release, load_checkpoint, load_stage_model
from hafm.data.splits import split_train_val
from hafm.data.shards import save_shard
from hafm.errors import HafmError, StaleCacheError
from hafm.model.lm import StageLM
from hafm.train import train_stage
from hafm.train_inputs import fit_and_validation


def _variants(tracks, suffix="_t+2_x1.1"):
    return [dataclasses.replace(t, name=t.name + suffix) for t in tracks]


def test_augmentation_joins_fitting_but_never_renders_a_validation_song(tracks, tiny_config):
    base = tracks("semantic")
    tcfg = tiny_config().train
    _, val_names = split_train_val([t.name for t in base], tcfg.val_fraction, tcfg.seed)
    fit, val = fit_and_validation(base, _variants(base), tcfg)
    assert [t.name for t in val] == val_names
    assert {t.name for t in fit} == ({t.name for t in base} - set(val_names)) | {
        t.name + "_t+2_x1.1" for t in base if t.name not in val_names}


def test_init_from_starts_a_new_run_from_the_given_weights(tmp_path, tracks, tiny_config):
    first = tiny_config(max_steps=4)
    train_stage(first, "coarse", tmp_path / "first", tracks=tracks("coarse"), progress=False)
    release = export_release(tmp_path / "first" / "checkpoint.pt", tmp_path / "coarse.pt", half=False)
    frozen = tiny_config(max_steps=1, lr=0.0, init_from=str(release))
    train_stage(frozen, "coarse", tmp_path / "second", tracks=tracks("coarse"), progress=False)
    started = load_checkpoint(tmp_path / "first" / "checkpoint.pt")["model"]
    after = load_checkpoint(tmp_path / "second" / "checkpoint.pt")["model"]
    assert all(torch.equal(started[k], after[k]) for k in started)


def test_weights_of_another_stage_are_refused(tmp_path, tracks, tiny_config):
    train_stage(tiny_config(max_steps=1), "semantic", tmp_path / "semantic", tracks=tracks("semantic"),
                progress=False)
    wrong = tiny_config(max_steps=1, init_from=str(tmp_path / "semantic" / "checkpoint.pt"))
    with pytest.raises(HafmError, match="another model than the 'coarse' stage"):
        train_stage(wrong, "coarse", tmp_path / "coarse", tracks=tracks("coarse"), progress=False)
    assert not (tmp_path / "coarse" / "checkpoint.pt").exists()


def test_augmentation_made_by_other_tokenizers_is_refused(tmp_path, shards, tiny_config):
    for folder, codec_id in (("main", "codec-a"), ("augment", "codec-b")):
        for name, arrays in shards.items():
            save_shard(tmp_path / folder / "train" / f"{name}.npz", arrays,
                       {"track": name, "codec_id": codec_id, "semantic_id": "sem"})
    cfg = tiny_config(max_steps=1, augment_shards=str(tmp_path / "augment"))
    with pytest.raises(StaleCacheError, match="codec_id 'codec-b', expected 'codec-a'"):
        train_stage(cfg, "semantic", tmp_path / "run", tmp_path / "main", progress=False)


def test_weights_without_onsets_start_an_onset_run_computing_the_same(tmp_path, tracks, tiny_config):
    from hafm.train_inputs import init_weights

    train_stage(tiny_config(max_steps=2), "coarse", tmp_path / "plain", tracks=tracks("coarse"), progress=False)
    release = export_release(tmp_path / "plain" / "checkpoint.pt", tmp_path / "coarse.pt", half=False)
    plain = load_stage_model(release)
    cfg = dataclasses.replace(plain.cfg, vocal_onsets=True)
    with_onsets = StageLM(cfg).eval()
    init_weights(with_onsets, str(release), "coarse", cfg)
    prefix = torch.randint(0, cfg.prefix_vocab, (2, cfg.prefix_streams, 8))
    onsets = torch.randint(0, 2, (2, 1, 8))
    target = torch.randint(0, cfg.target_vocab, (2, cfg.target_codebooks, 12))
    assert torch.equal(plain(prefix, target), with_onsets(torch.cat([prefix, onsets], 1), target))


def test_onset_weights_are_refused_for_a_run_without_onsets(tmp_path, tiny_config):
    from hafm.train_inputs import init_weights

    cfg = dataclasses.replace(tiny_config().coarse, vocal_onsets=True)
    path = tmp_path / "coarse.pt"
    torch.save({"model": StageLM(cfg).state_dict(), "config": dataclasses.asdict(cfg), "meta": {}}, path)
    plain = dataclasses.replace(cfg, vocal_onsets=False)
    with pytest.raises(HafmError, match="another model"):
        init_weights(StageLM(plain), str(path), "coarse", plain)
