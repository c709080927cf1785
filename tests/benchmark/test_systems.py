import numpy as np
import pytest
import torch

from benchmark.cache import OutputCache
from benchmark.systems import SR, CascadeSystem, ClipAudio, CodecOracle, FolderSystem, GroundTruth, RandomBaseline


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


@pytest.fixture
def outside_folder(tmp_path):
    """Outputs of clips ``a@0`` and ``b@0`` as 44.1 kHz stereo files: a 440 Hz tone, 0.2 s long."""
    import soundfile as sf

    t = np.arange(int(0.2 * 44_100)) / 44_100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    for clip_id in ("a@0", "b@0"):
        sf.write(tmp_path / f"{clip_id}.wav", np.stack([tone, tone], 1), 44_100, subtype="FLOAT")
    return tmp_path


def _tone_clip(clip_id="a@0", seconds=0.2):
    n = int(seconds * SR)
    return ClipAudio(clip_id, clip_id[0], np.zeros(n, np.float32), np.zeros(n, np.float32))


def test_folder_system_resamples_and_downmixes_to_the_clip(outside_folder):
    out = FolderSystem("mine", outside_folder, ("a@0", "b@0"))(_tone_clip())
    spectrum = np.abs(np.fft.rfft(out))
    assert out.shape == (int(0.2 * SR),) and np.argmax(spectrum) * SR / len(out) == pytest.approx(440, abs=10)


def test_folder_system_names_every_missing_clip(outside_folder):
    with pytest.raises(FileNotFoundError, match=r"2 of 3 clips missing.*c@0\.wav, d@0\.wav"):
        FolderSystem("mine", outside_folder, ("a@0", "c@0", "d@0"))


def test_folder_system_refuses_an_output_shorter_than_its_clip(outside_folder):
    with pytest.raises(ValueError, match="lasts 0.200 s, the clip 1.000 s"):
        FolderSystem("mine", outside_folder, ("a@0",))(_tone_clip(seconds=1.0))


def test_folder_identity_follows_the_files(outside_folder):
    import soundfile as sf

    before = FolderSystem("mine", outside_folder, ("a@0",)).identity()
    sf.write(outside_folder / "a@0.wav", np.zeros(int(0.2 * SR), np.float32), SR)
    assert FolderSystem("mine", outside_folder, ("a@0",)).identity() != before
