import numpy as np
import pytest
import torch

from hafm.config import SamplingConfig
from hafm.sweep import SweepConfig, clip_song, describe, reference_stats, round_one, round_two, score, validation_clips


def test_round_one_varies_semantic_and_coarse_with_a_greedy_fine_stage():
    cfg = SweepConfig(semantic_temperatures=(0.9,), coarse_temperatures=(0.6, 1.0), coarse_guidance_scales=(1.0, 3.0),
                      semantic_guidance_scales=(1.0,), semantic_top_ps=(0.0,))
    candidates = round_one(SamplingConfig(), cfg)
    assert len(candidates) == 4
    assert all(c.effective()["fine"]["temperature"] == 0.0 for c in candidates)
    assert {(c.effective()["coarse"]["temperature"], c.effective()["coarse"]["guidance_scale"])
            for c in candidates} == {(0.6, 1.0), (0.6, 3.0), (1.0, 1.0), (1.0, 3.0)}


def test_round_one_guides_the_semantic_stage_independently_of_the_coarse_stage():
    cfg = SweepConfig(semantic_temperatures=(0.9,), semantic_guidance_scales=(1.0, 3.0), semantic_top_ps=(0.0,),
                      coarse_temperatures=(0.6,), coarse_guidance_scales=(1.0,))
    candidates = round_one(SamplingConfig(), cfg)
    assert {(c.effective()["semantic"]["guidance_scale"], c.effective()["coarse"]["guidance_scale"])
            for c in candidates} == {(1.0, 1.0), (3.0, 1.0)}


def test_round_two_changes_only_the_fine_stage_and_skips_the_incumbent():
    best = round_one(SamplingConfig(), SweepConfig())[0]
    candidates = round_two(best, SweepConfig(fine_temperatures=(0.0, 0.5)))
    assert len(candidates) == 1
    assert describe(candidates[0])["fine_temperature"] == 0.5
    assert describe(candidates[0])["coarse_temperature"] == describe(best)["coarse_temperature"]


def _ramp_corpus(root, seconds: float = 3.0) -> None:
    """Two training songs whose vocal sample equals its time in seconds / 10 (24 kHz)."""
    from hafm.testing.corpora import write_track

    ramp = (np.arange(int(seconds * 24_000)) / 24_000 / 10).astype(np.float32)
    for name in ("A - one", "B - two"):
        write_track(root, "train", name, {"vocals": ramp, "bass": 0.5 * ramp}, 24_000)


def test_validation_clips_are_evenly_spaced_and_name_their_song(tmp_path):
    _ramp_corpus(tmp_path)
    names, vocals, accomps = validation_clips(str(tmp_path), 0, 1.0, clips_per_song=2)
    assert len(names) % 2 == 0 and names
    song = clip_song(names[0])
    assert names[:2] == [f"{song}@0.7s", f"{song}@1.3s"]
    assert [round(float(v[0]) * 10, 2) for v in vocals[:2]] == [0.67, 1.33]
    assert all(len(v) == 24_000 for v in vocals + accomps)


def test_one_validation_clip_per_song_is_the_middle_named_as_the_song(tmp_path):
    _ramp_corpus(tmp_path)
    names, vocals, _ = validation_clips(str(tmp_path), 0, 1.0)
    assert clip_song(names[0]) == names[0]
    assert round(float(vocals[0][0]) * 10, 2) == 1.0


def test_round_one_crosses_semantic_top_p_with_the_other_settings():
    cfg = SweepConfig(semantic_temperatures=(0.9, 1.0), semantic_guidance_scales=(3.0,), semantic_top_ps=(0.0, 0.8),
                      coarse_temperatures=(0.6,), coarse_guidance_scales=(1.0,))
    candidates = round_one(SamplingConfig(), cfg)
    assert {(c.effective()["semantic"]["temperature"], c.effective()["semantic"]["top_p"]) for c in candidates} \
        == {(0.9, 0.0), (0.9, 0.8), (1.0, 0.0), (1.0, 0.8)}
    assert all(c.effective()["coarse"]["top_p"] == SamplingConfig().top_p for c in candidates)
    assert describe(candidates[1])["semantic_top_p"] == 0.8


def test_score_is_the_frechet_distance_of_pooled_frames_and_embeds_the_reference_once():
    from hafm.frechet import frechet_distance, gaussian_stats

    calls = []

    def embed(wav):  # 24 kHz clip -> [frames, 3]: fixed frames of its samples
        calls.append(len(wav))
        return wav.numpy()[: 3 * 40].reshape(40, 3).astype(np.float64)

    rng = np.random.default_rng(0)
    reference = [rng.normal(size=200).astype(np.float32) for _ in range(3)]
    outputs = [rng.normal(0.5, 2.0, size=200).astype(np.float32) for _ in range(2)]
    stats = reference_stats(embed, reference)
    fads = [score(embed, stats, outputs) for _ in range(2)]
    pooled = [np.concatenate([embed(torch.from_numpy(x)) for x in xs]) for xs in (reference, outputs)]
    expected = frechet_distance(*gaussian_stats(pooled[0]), *gaussian_stats(pooled[1]))
    assert fads[0] == pytest.approx(expected, rel=1e-9) and len(calls) == 3 + 2 * 2 + 5
