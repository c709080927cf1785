import dataclasses

import numpy as np
import pytest
import torch

from hafm.config import SamplingConfig
from hafm.pipeline import GenerationPipeline, length_batches, load_sampling
from hafm.model.cascade import Cascade
from hafm.testing import EnergySemantic, ToneCodec, tiny_cascade, tiny_config


def _pipeline(sampling=None):
    return GenerationPipeline(tiny_cascade(), EnergySemantic(), ToneCodec(), sampling or SamplingConfig(), "w")


def test_one_generation_gives_both_ablation_outputs_exactly():
    pipeline = _pipeline()
    vocals = torch.from_numpy((0.3 * np.sin(np.linspace(0, 400, 24_000))).astype(np.float32))[None]
    both = pipeline.generate_both(vocals, 24_000, seed=11)
    for stages in (3, 2):
        alone = pipeline.generate(vocals, 24_000, stages=stages, seed=11)
        torch.testing.assert_close(both[stages], alone, rtol=0, atol=0)
    assert not torch.equal(both[3], both[2])


def test_identity_changes_with_sampling_settings_and_weights():
    base = _pipeline()
    fine_greedy = SamplingConfig(stage_overrides={"fine": {"temperature": 0.0}})
    assert base.identity() != base.with_sampling(fine_greedy).identity()
    assert base.identity() != dataclasses.replace(base, weights_id="other").identity()
    assert base.identity() == _pipeline().identity()


def test_per_stage_override_changes_only_that_stage():
    vocals = torch.from_numpy((0.3 * np.sin(np.linspace(0, 400, 24_000))).astype(np.float32))[None]
    base, greedy_fine = _pipeline(), _pipeline(SamplingConfig(stage_overrides={"fine": {"temperature": 0.0}}))
    a, b = base.codes(vocals, 24_000, seed=3), greedy_fine.codes(vocals, 24_000, seed=3)
    assert torch.equal(a[:4], b[:4]) and not torch.equal(a[4:], b[4:])


def test_sampling_file_next_to_checkpoints_is_the_default(tmp_path):
    (tmp_path / "sampling.toml").write_text("[sampling]\ntemperature = 0.5\n"
                                            "[sampling.stage_overrides.fine]\ntemperature = 0.0\n")
    loaded = load_sampling(tmp_path)
    assert loaded.effective()["fine"]["temperature"] == 0.0 and loaded.temperature == 0.5
    assert load_sampling(tmp_path / "absent") == SamplingConfig()




def _tone(n_samples: int, rate: float) -> torch.Tensor:
    return torch.from_numpy((0.3 * np.sin(np.linspace(0, rate, n_samples))).astype(np.float32))[None]


def test_a_clip_in_a_batch_draws_what_it_draws_alone():
    pipeline = _pipeline()
    vocals = [_tone(24_000, 400), _tone(24_000, 900), _tone(24_000, 150)]
    batch = pipeline.codes_batch(vocals, 24_000, seeds=[5, 6, 7])
    for i, (v, seed) in enumerate(zip(vocals, [5, 6, 7])):
        assert torch.equal(batch[i], pipeline.codes(v, 24_000, seed=seed))


def test_batch_of_vocals_of_different_lengths_is_refused():
    with np.testing.assert_raises_regex(ValueError, "one length"):
        _pipeline().codes_batch([_tone(24_000, 400), _tone(20_000, 400)], 24_000, seeds=[0, 1])


def test_length_batches_hold_one_length_and_at_most_the_batch_size():
    lengths = [100 if i % 3 else 80 for i in range(10)]
    grouped = length_batches(lengths, 3)
    assert sorted(i for b in grouped for i in b) == list(range(10))
    assert all(len(b) <= 3 and len({lengths[i] for i in b}) == 1 for b in grouped)


def _sine(freq: float, amplitude: float = 0.3) -> torch.Tensor:
    t = torch.arange(24_000) / 24_000
    return (amplitude * torch.sin(2 * torch.pi * freq * t))[None].float()


def test_true_accompaniment_tokens_replace_the_semantic_stage(monkeypatch):
    pipeline = _pipeline()

    def no_semantic_stage(*args, **kwargs):
        raise AssertionError("the semantic stage ran")

    vocals = [_sine(220.0)]
    plain = pipeline.codes_batch(vocals, 24_000, seeds=[5])
    monkeypatch.setattr(pipeline.cascade.semantic, "generate", no_semantic_stage)
    quiet = pipeline.codes_batch(vocals, 24_000, seeds=[5], accompaniments=[_sine(110.0, 0.05)])
    loud = pipeline.codes_batch(vocals, 24_000, seeds=[5], accompaniments=[_sine(110.0, 0.9)])
    assert quiet.shape == plain.shape
    assert not torch.equal(quiet[:, :4], loud[:, :4])


def test_an_accompaniment_of_another_length_than_its_vocal_is_refused():
    with pytest.raises(ValueError, match="of the vocal's length"):
        _pipeline().codes_batch([_sine(220.0)], 24_000, seeds=[0], accompaniments=[_sine(110.0)[:, :12_000]])


def _onset_pipeline():
    cfg = tiny_config()
    cfg = dataclasses.replace(cfg, semantic=dataclasses.replace(cfg.semantic, vocal_onsets=True),
                              coarse=dataclasses.replace(cfg.coarse, vocal_onsets=True))
    return GenerationPipeline(Cascade.from_config(cfg), EnergySemantic(), ToneCodec(), SamplingConfig(), "w")


def test_a_cascade_reading_onsets_gets_them_from_the_vocal():
    pipeline = _onset_pipeline()
    vocal = _sine(220.0) * (torch.arange(24_000) >= 7_200)  # a note entering at 0.3 s: frame 15
    codes = pipeline.codes_batch([vocal], 24_000, seeds=[0])
    onsets = pipeline.onset_inputs([vocal], 24_000, 50)
    assert codes.shape == (1, 8, 75) and onsets.shape == (1, 50)
    assert torch.nonzero(onsets[0]).flatten().tolist() in ([14], [15], [16])
    assert _pipeline().onset_inputs([vocal], 24_000, 50) is None


def test_the_onset_detector_enters_the_identity_of_cascades_that_read_onsets(monkeypatch):
    import hafm.pipeline

    onset, plain = _onset_pipeline(), _pipeline()
    before = onset.identity(), plain.identity()
    monkeypatch.setattr(hafm.pipeline, "ONSET_ID", "another-detector")
    assert onset.identity() != before[0] and plain.identity() == before[1]


def test_onset_hold_makes_the_pipeline_compute_onsets_and_changes_its_identity():
    plain = _pipeline()
    holding = _pipeline(SamplingConfig(stage_overrides={"semantic": {"onset_hold": 3.0}}))
    assert not plain.reads_onsets and holding.reads_onsets
    assert holding.identity() != plain.identity()
    assert holding.codes_batch([_sine(220.0)], 24_000, seeds=[0]).shape == (1, 8, 75)
