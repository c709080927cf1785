import numpy as np
import pytest
import torch

from benchmark.cache import OutputCache
from benchmark.systems import CascadeSystem, ClipAudio, CodecOracle, GroundTruth, RandomBaseline


def _clip(track="a", n=2400):
    rng = np.random.default_rng(len(track))
    return ClipAudio(f"{track}@0", track, rng.standard_normal(n).astype(np.float32),
                     rng.standard_normal(n).astype(np.float32))


def test_ground_truth_returns_the_true_accompaniment():
    clip = _clip()
    assert np.array_equal(GroundTruth()(clip), clip.accompaniment)


def test_random_baseline_never_picks_the_clips_own_song():
    pool = {t: np.full(5000, i, dtype=np.float32) for i, t in enumerate("abcd")}
    baseline = RandomBaseline(pool, seed=0)
    for track in "abcd":
        for k in range(20):
            clip = ClipAudio(f"{track}@{k}", track, np.zeros(2400, np.float32), np.zeros(2400, np.float32))
            donor, _ = baseline.pick(clip)
            assert donor != track
            assert len(baseline(clip)) == 2400


def test_random_baseline_is_seeded():
    pool = {t: np.arange(9000, dtype=np.float32) + i for i, t in enumerate("abc")}
    clip = _clip("a")
    assert np.array_equal(RandomBaseline(pool, 3)(clip), RandomBaseline(pool, 3)(clip))


def test_random_baseline_needs_two_songs():
    with pytest.raises(ValueError):
        RandomBaseline({"a": np.zeros(10, np.float32)}, 0)


class _IdentityCodec:
    def identity(self):
        return "id"

    def encode(self, wav):
        return (wav * 100).round().long().repeat(1, 8, 1)

    def decode(self, codes):
        return codes[:, :1].float() / 100 * codes.shape[1]


def test_codec_oracle_keeps_length_and_uses_k_codebooks():
    clip = _clip()
    out = CodecOracle(_IdentityCodec(), 4, "codec_oracle_4")(clip)
    assert out.shape == clip.accompaniment.shape
    np.testing.assert_allclose(out, np.round(clip.accompaniment * 100) / 100 * 4, atol=1e-5)


class RecordingPipeline:
    def __init__(self):
        self.seen = {}

    def identity(self):
        return "w"

    def generate(self, vocals, sr, stages, seed):
        self.seen.update(stages=stages, sr=sr, shape=tuple(vocals.shape))
        return torch.zeros(1, vocals.shape[-1] + 500)


def test_cascade_system_passes_stages_and_trims_to_clip_length():
    pipeline = RecordingPipeline()
    clip = _clip()
    out = CascadeSystem(2, pipeline, 0)(clip)
    seen = pipeline.seen
    assert seen == {"stages": 2, "sr": 24_000, "shape": (1, 2400)} and out.shape == (2400,)


def test_cache_key_changes_with_identity(tmp_path):
    cache = OutputCache(tmp_path)
    cache.put("three_stage", "ckpt-A", "a@0", np.ones(10, np.float32))
    assert cache.get("three_stage", "ckpt-A", "a@0") is not None
    assert cache.get("three_stage", "ckpt-B", "a@0") is None


def test_cache_refuses_non_finite_audio(tmp_path):
    with pytest.raises(ValueError, match="non-finite"):
        OutputCache(tmp_path).put("x", "i", "c", np.array([np.nan], np.float32))
