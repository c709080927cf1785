"""Frame features, patch and window embeddings, the front end's refusals, and the weights lookup."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hafm.errors import AudioError, MissingWeightsError
from hafm.musicnn import LAYER_DIMS, frame_features, log_mel, patch_embeddings, tag_names, window_embeddings
from hafm.musicnn import weights as weights_module
from hafm.musicnn.embed import (
    frame_features_from_log_mel,
    patch_embeddings_from_log_mel,
    window_embeddings_from_log_mel,
)
from hafm.musicnn.frontend import patches


def test_log_mel_frame_count(parity_audio):
    assert log_mel(parity_audio[:5000]).shape == (1 + 5000 // 256, 96)


@pytest.mark.parametrize("bad", [np.zeros(200, np.float32), np.full(4000, np.nan, np.float32),
                                 np.zeros((2, 4000), np.float32)])
def test_log_mel_refuses_unusable_audio(bad):
    with pytest.raises(AudioError):
        log_mel(bad)


def test_patches_drop_tail_and_repeat_pad_short_input():
    mel = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    assert patches(mel).shape == (2, 187, 96)
    short = patches(mel[:50])
    assert short.shape == (1, 187, 96)
    np.testing.assert_array_equal(short[0, 50:100], mel[:50])


def test_frame_features_shape(parity_audio, models):
    feats = frame_features(models["MSD_musicnn"], parity_audio[:32000])
    assert feats.shape == (1 + 32000 // 256, 753)


def test_chunked_frame_features_equal_one_pass(parity_log_mel, models):
    model = models["MTT_musicnn"]
    chunked = frame_features_from_log_mel(model, parity_log_mel, chunk_frames=100)
    with torch.no_grad():
        whole = model.frame_features(torch.from_numpy(parity_log_mel)[None])[0].T.numpy()
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-4)


def test_frame_features_refuse_vgg(parity_log_mel, models):
    with pytest.raises(TypeError):
        frame_features_from_log_mel(models["MTT_vgg"], parity_log_mel)


@pytest.mark.parametrize("name,layer", [("MTT_musicnn", "penultimate"), ("MTT_musicnn", "mean_pool"),
                                        ("MSD_vgg", "pool5")])
def test_patch_embedding_dims(name, layer, parity_audio, models):
    out = patch_embeddings(models[name], parity_audio, layer)
    assert out.shape == (2, LAYER_DIMS[layer])


def test_unknown_layer_raises(parity_audio, models):
    with pytest.raises(ValueError, match="pool5"):
        patch_embeddings(models["MTT_musicnn"], parity_audio, "pool5")


def test_tag_names_come_from_the_wheel(parity):
    assert tag_names("MSD_vgg") == parity["tags"]["MSD"]


def test_missing_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setattr(weights_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingWeightsError, match="pip install --no-deps musicnn==0.1.0"):
        weights_module.load_musicnn("MSD_musicnn")


def test_missing_checkpoint_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(weights_module.importlib.resources, "files", lambda package: tmp_path)
    with pytest.raises(MissingWeightsError, match=r"MTT_vgg/\.index"):
        weights_module.checkpoint_prefix("MTT_vgg")


def test_unknown_model_name_raises():
    with pytest.raises(ValueError, match="MSD_musicnn"):
        weights_module.load_musicnn("MSD_musicnn_big")


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("frames", [187, 200, 218, 376])
def test_windows_are_the_patches_windows(frames, parity_log_mel, models):
    mel = parity_log_mel[:frames]
    windows = window_embeddings_from_log_mel(models["MTT_musicnn"], mel, "penultimate", hop=31)
    assert windows.shape == patch_embeddings_from_log_mel(models["MTT_musicnn"], mel, "penultimate", hop=31).shape


@pytest.mark.parametrize("frames", [50, 187])
def test_a_single_window_equals_the_exact_patch(frames, parity_log_mel, models):
    # one window spans the whole (repeat-padded, if short) input: both modes see the same zero
    # padding, so only float summation order differs
    mel = parity_log_mel[:frames]
    for layer in ("penultimate", "max_pool", "taggram"):
        exact = patch_embeddings_from_log_mel(models["MTT_musicnn"], mel, layer)
        np.testing.assert_allclose(window_embeddings_from_log_mel(models["MTT_musicnn"], mel, layer), exact,
                                   rtol=0, atol=1e-5, err_msg=layer)


def test_overlapping_windows_stay_close_to_exact_patches(parity_log_mel, models):
    # Windows differ from patches only where a window's inner edges cut the receptive field (the
    # 128-frame temporal filter and the mid-end reach ~73 frames): patches see zeros there,
    # windows the real neighbours. The fixture's chord-to-notes change at 3 s is a worst case;
    # measured there: cosine min 0.938, mean 0.983 (results/perf/embeddings.json has the corpus).
    args = (models["MTT_musicnn"], parity_log_mel, "penultimate", 31)
    cos = _cosine(window_embeddings_from_log_mel(*args), patch_embeddings_from_log_mel(*args))
    assert cos.min() >= 0.9 and cos.mean() >= 0.97


def test_window_embeddings_from_audio(parity_audio, models):
    assert window_embeddings(models["MSD_musicnn"], parity_audio, "mean_pool").shape == (2, 753)


def test_window_embeddings_refuse_vgg(parity_log_mel, models):
    with pytest.raises(TypeError, match="187-frame patches"):
        window_embeddings_from_log_mel(models["MSD_vgg"], parity_log_mel, "pool5")
