"""Stage windows: shapes per stage, 2:3 alignment, determinism, rank slices, the train/val split."""

import numpy as np
import pytest
import torch

from hafm.data.stage_data import (
    ConditionNoise,
    WindowSampler,
    check_vocab,
    fixed_batches,
    fixed_windows,
    generated_streams,
    stage_track,
    window_blocks,
)
from hafm.data.splits import split_train_val
from hafm.errors import HafmError


def fake_shard(t_semantic: int, seed: int) -> dict:
    """Semantic tokens count frames (so alignment is checkable); acoustic = 10 * codebook + frame."""
    rng = np.random.default_rng(seed)
    frames = np.arange(t_semantic)
    t_acoustic = t_semantic * 3 // 2
    return {
        "semantic_vocals": frames + 1000 * seed,
        "semantic_accomp": rng.integers(0, 500, t_semantic),
        "acoustic_accomp": np.arange(8)[:, None] * 100_000 + np.arange(t_acoustic)[None, :] + 1000 * seed,
        "onset_vocals": (frames % 7 == 0).astype(np.int16),
    }


@pytest.fixture
def tracks_by_stage():
    shards = {f"song{i}": fake_shard(100 + 20 * i, i) for i in range(4)}
    return {stage: [stage_track(n, s, stage) for n, s in shards.items()] for stage in ("semantic", "coarse", "fine")}


def test_window_blocks_counts_whole_40ms_blocks():
    assert window_blocks(6.0) == 150


@pytest.mark.parametrize("stage,prefix_shape,target_shape", [
    ("semantic", (3, 1, 20), (3, 1, 20)),
    ("coarse", (3, 2, 20), (3, 4, 30)),
    ("fine", (3, 4, 30), (3, 4, 30)),
])
def test_batch_shapes_per_stage(tracks_by_stage, stage, prefix_shape, target_shape):
    batch = WindowSampler(tracks_by_stage[stage], n_blocks=10, seed=0).batch(step=1, global_size=3, start=0, size=3)
    assert (tuple(batch.prefix.shape), tuple(batch.target.shape)) == (prefix_shape, target_shape)


def test_coarse_window_keeps_two_to_three_alignment(tracks_by_stage):
    batch = WindowSampler(tracks_by_stage["coarse"], n_blocks=10, seed=3).batch(step=5, global_size=4, start=0, size=4)
    semantic_start = batch.prefix[:, 0, 0] % 1000  # vocal semantic token == its frame index
    acoustic_start = batch.target[:, 0, 0] % 1000  # codebook-1 token == its frame index
    assert torch.equal(acoustic_start, semantic_start * 3 // 2)


def test_fine_target_is_codebooks_five_to_eight(tracks_by_stage):
    batch = WindowSampler(tracks_by_stage["fine"], n_blocks=4, seed=0).batch(step=1, global_size=1, start=0, size=1)
    assert (batch.target[0, :, 0] // 100_000).tolist() == [4, 5, 6, 7]


def test_same_seed_and_step_give_same_batch(tracks_by_stage):
    a = WindowSampler(tracks_by_stage["semantic"], 10, seed=7).batch(step=12, global_size=5, start=0, size=5)
    b = WindowSampler(tracks_by_stage["semantic"], 10, seed=7).batch(step=12, global_size=5, start=0, size=5)
    assert torch.equal(a.prefix, b.prefix) and torch.equal(a.drop_condition, b.drop_condition)


def test_other_step_gives_other_batch(tracks_by_stage):
    sampler = WindowSampler(tracks_by_stage["semantic"], 10, seed=7)
    assert not torch.equal(sampler.batch(1, 8, 0, 8).prefix, sampler.batch(2, 8, 0, 8).prefix)


def test_rank_slices_partition_the_global_batch(tracks_by_stage):
    sampler = WindowSampler(tracks_by_stage["semantic"], 10, seed=1)
    whole = sampler.batch(4, 6, 0, 6).prefix
    halves = torch.cat([sampler.batch(4, 6, 0, 3).prefix, sampler.batch(4, 6, 3, 3).prefix])
    assert torch.equal(whole, halves)


def test_condition_dropout_rate_is_respected(tracks_by_stage):
    sampler = WindowSampler(tracks_by_stage["semantic"], 10, seed=0, cond_dropout=0.25)
    drops = torch.cat([sampler.batch(s, 64, 0, 64).drop_condition for s in range(20)])
    assert 0.2 < drops.float().mean().item() < 0.3


def test_tracks_shorter_than_a_window_are_refused():
    track = stage_track("short", fake_shard(10, 0), "semantic")
    with pytest.raises(HafmError, match="long"):
        WindowSampler([track], n_blocks=50, seed=0)


def test_split_partitions_the_tracks_at_about_the_asked_fraction():
    names = [f"track{i:03d}" for i in range(200)]
    train, val = split_train_val(names, 0.1, seed=0)
    assert set(train) | set(val) == set(names) and not set(train) & set(val) and 5 < len(val) < 40


def test_split_does_not_depend_on_order():
    names = [f"track{i:03d}" for i in range(50)]
    assert sorted(split_train_val(names, 0.2, 0)[1]) == sorted(split_train_val(names[::-1], 0.2, 0)[1])


def test_split_keeps_one_validation_track_for_tiny_corpora():
    assert len(split_train_val(["a", "b"], 0.01, seed=0)[1]) == 1


def test_fixed_windows_do_not_overlap_and_are_bounded(tracks_by_stage):
    windows = fixed_windows(tracks_by_stage["semantic"], n_blocks=20, max_windows=7)
    assert len(windows) == 7 and len(set(windows)) == 7
    batches = fixed_batches(tracks_by_stage["semantic"], windows, 20, batch_size=4)
    assert [len(b.prefix) for b in batches] == [4, 3] and not any(b.drop_condition.any() for b in batches)


def test_out_of_vocabulary_tokens_are_refused(tracks_by_stage):
    with pytest.raises(HafmError, match="vocabulary"):
        check_vocab(tracks_by_stage["semantic"], prefix_vocab=500, target_vocab=500)


def test_malformed_shard_is_refused():
    shard = fake_shard(40, 0)
    shard["acoustic_accomp"] = shard["acoustic_accomp"][:1]
    with pytest.raises(HafmError, match="acoustic_accomp"):
        stage_track("bad", shard, "fine")


@pytest.mark.parametrize("stage, streams", [("semantic", 2), ("coarse", 3)])
def test_vocal_onsets_are_the_last_prefix_stream(stage, streams):
    shard = fake_shard(40, 0)
    track = stage_track("song", shard, stage, vocal_onsets=True)
    assert track.prefix.shape == (streams, 40)
    assert np.array_equal(track.prefix[-1], shard["onset_vocals"])
    assert np.array_equal(track.prefix[:-1], stage_track("song", shard, stage).prefix)


def test_fine_stage_refuses_vocal_onsets():
    with pytest.raises(HafmError, match="semantic and coarse stages only"):
        stage_track("song", fake_shard(40, 0), "fine", vocal_onsets=True)


def test_shard_without_onsets_asks_for_a_new_tokenize_run():
    shard = fake_shard(40, 0)
    del shard["onset_vocals"]
    with pytest.raises(HafmError, match="run `hafm tokenize` again"):
        stage_track("old", shard, "semantic", vocal_onsets=True)


def _coarse_batch(tracks, noise: ConditionNoise | None, step: int = 3):
    return WindowSampler(tracks, 10, seed=0, noise=noise).batch(step=step, global_size=64, start=0, size=64)


def test_condition_noise_at_rate_zero_leaves_batches_unchanged(tracks_by_stage):
    plain = _coarse_batch(tracks_by_stage["coarse"], None)
    zero = _coarse_batch(tracks_by_stage["coarse"], ConditionNoise(0.0, (1,), 500))
    assert torch.equal(plain.prefix, zero.prefix) and torch.equal(plain.target, zero.target)


def test_condition_noise_replaces_about_its_rate_of_the_generated_stream_only(tracks_by_stage):
    plain = _coarse_batch(tracks_by_stage["coarse"], None)
    noisy = _coarse_batch(tracks_by_stage["coarse"], ConditionNoise(0.3, (1,), 500))
    assert torch.equal(noisy.prefix[:, 0], plain.prefix[:, 0])  # the vocal stream stays real
    changed = (noisy.prefix[:, 1] != plain.prefix[:, 1]).float().mean().item()
    assert 0.25 < changed < 0.32  # 0.3 * (499 / 500) of the tokens draw another value
    assert int(noisy.prefix[:, 1].max()) < 500 and torch.equal(noisy.target, plain.target)


def test_condition_noise_is_a_function_of_seed_and_step(tracks_by_stage):
    noise = ConditionNoise(0.5, (1,), 500)
    a, b = (_coarse_batch(tracks_by_stage["coarse"], noise) for _ in range(2))
    assert torch.equal(a.prefix, b.prefix)
    assert not torch.equal(a.prefix, _coarse_batch(tracks_by_stage["coarse"], noise, step=4).prefix)


def test_condition_noise_does_not_modify_its_input():
    prefix = np.zeros((2, 2, 30), dtype=np.int64)
    ConditionNoise(1.0, (1,), 500).apply(prefix, np.random.default_rng(0))
    assert not prefix.any()


@pytest.mark.parametrize("stage,streams,expected",
                         [("semantic", 1, ()), ("coarse", 2, (1,)), ("fine", 4, (0, 1, 2, 3))])
def test_generated_streams_leave_the_vocal_real(stage, streams, expected):
    assert generated_streams(stage, streams) == expected
