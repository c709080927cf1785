from hafm.config import SamplingConfig
from hafm.sweep import SweepConfig, describe, round_one, round_two


def test_round_one_varies_semantic_and_coarse_with_a_greedy_fine_stage():
    cfg = SweepConfig(semantic_temperatures=(0.9,), coarse_temperatures=(0.6, 1.0), coarse_guidance_scales=(1.0, 3.0),
                      semantic_guidance_scales=(1.0,))
    candidates = round_one(SamplingConfig(), cfg)
    assert len(candidates) == 4
    assert all(c.effective()["fine"]["temperature"] == 0.0 for c in candidates)
    assert {(c.effective()["coarse"]["temperature"], c.effective()["coarse"]["guidance_scale"])
            for c in candidates} == {(0.6, 1.0), (0.6, 3.0), (1.0, 1.0), (1.0, 3.0)}


def test_round_one_guides_the_semantic_stage_independently_of_the_coarse_stage():
    cfg = SweepConfig(semantic_temperatures=(0.9,), semantic_guidance_scales=(1.0, 3.0),
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
