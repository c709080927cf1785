"""The port reproduces the reference outputs of the parity fixture within its stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from hafm.musicnn import log_mel
from hafm.musicnn.embed import patch_embeddings_from_log_mel, patch_embeddings

MODELS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")


def _embedding_layers(parity: dict, name: str) -> list[str]:
    return list(parity["models"][name]["embeddings"])


def test_log_mel_matches_fixture(parity_audio, parity_log_mel):
    ours = log_mel(parity_audio)
    assert ours.shape == parity_log_mel.shape
    equal = ours == parity_log_mel
    ulp = np.spacing(np.abs(parity_log_mel).astype(np.float16)).astype(np.float32)
    assert equal.mean() >= 0.995
    assert np.all(np.abs(ours - parity_log_mel) <= ulp)


@pytest.mark.parametrize("name", MODELS)
def test_model_from_stored_log_mel(name, parity, parity_log_mel, models):
    ref = parity["models"][name]
    tags = patch_embeddings_from_log_mel(models[name], parity_log_mel, "taggram")
    np.testing.assert_allclose(tags, ref["taggram"], rtol=0, atol=1e-5)
    for layer in _embedding_layers(parity, name):
        out = patch_embeddings_from_log_mel(models[name], parity_log_mel, layer)
        np.testing.assert_allclose(out, ref["embeddings"][layer], rtol=0, atol=1e-4, err_msg=layer)


@pytest.mark.parametrize("name", MODELS)
def test_model_end_to_end_from_audio(name, parity, parity_audio, models):
    ref = parity["models"][name]
    tags = patch_embeddings(models[name], parity_audio, "taggram")
    np.testing.assert_allclose(tags, ref["taggram"], rtol=0, atol=5e-5)
    for layer in _embedding_layers(parity, name):
        out = patch_embeddings(models[name], parity_audio, layer)
        np.testing.assert_allclose(out, ref["embeddings"][layer], rtol=0, atol=5e-4, err_msg=layer)


@pytest.mark.parametrize("name", MODELS)
def test_top5_tags_per_patch_match(name, parity, parity_audio, models):
    tags = patch_embeddings(models[name], parity_audio, "taggram")
    ours = [list(np.argsort(-row)[:5]) for row in tags]
    expected = [[entry["index"] for entry in patch] for patch in parity["models"][name]["top5_per_patch"]]
    assert ours == expected
