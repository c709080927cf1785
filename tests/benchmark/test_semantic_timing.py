"""Tests of benchmark.semantic_timing: the semantic stage's tokens, drawn as the full cascade draws them."""

import numpy as np
import pytest
import torch

from benchmark.compare_checkpoints import Candidate
from benchmark.semantic_timing import semantic_tokens, token_timing


@pytest.fixture
def tiny_pipeline(monkeypatch):
    from hafm.config import SamplingConfig
    from hafm.pipeline import GenerationPipeline
    from hafm.testing import EnergySemantic, ToneCodec, tiny_cascade

    pipeline = GenerationPipeline(tiny_cascade(), EnergySemantic(), ToneCodec(), SamplingConfig(), "w")
    monkeypatch.setattr(GenerationPipeline, "load", classmethod(lambda cls, folder=None: pipeline))
    return pipeline


def _clips() -> tuple[list[np.ndarray], list[np.ndarray]]:
    t = np.arange(12_000) / 24_000
    vocals = [(0.3 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
              for f in (220, 330)]
    accomps = [(a * np.sin(2 * np.pi * 110 * t)).astype(np.float32) for a in (0.1, 0.6)]
    return vocals, accomps


def test_candidate_tokens_are_the_ones_the_full_cascade_draws_first(tiny_pipeline, monkeypatch):
    import hafm.generate

    drawn = []
    original = hafm.generate.generate_semantic
    def recording(*args, **kwargs):
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(hafm.generate, "generate_semantic", recording)
    vocals, accomps = _clips()
    vocal, systems = semantic_tokens({"a": Candidate(None)}, vocals, accomps, seed=5)
    tiny_pipeline.codes_batch([torch.from_numpy(v)[None] for v in vocals], 24_000, seeds=[5, 6])
    assert sorted(systems) == ["a", "truth"]
    assert systems["a"].shape == systems["truth"].shape == vocal.shape == (2, 26)  # 0.5 s: 13 blocks of 40 ms
    np.testing.assert_array_equal(systems["a"], drawn[-1].numpy())


def test_token_timing_scores_a_copy_of_the_vocal_as_perfectly_following_it():
    centroids = np.random.default_rng(0).standard_normal((8, 3))
    vocal = np.repeat(np.array([0, 3, 5, 1, 7, 2]), 10)
    timing = token_timing(vocal, vocal.copy(), centroids)
    assert timing["novelty_r"] == pytest.approx(1.0)
    assert timing["changes_per_s"] == pytest.approx(5 / 59 * 50)
