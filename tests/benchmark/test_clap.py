"""CLAP embeddings through transformers' ClapModel, with a tiny random model of the real architecture
saved and loaded exactly as a downloaded checkpoint would be (local folder, no network)."""

import numpy as np
import pytest
import torch

from benchmark.clap import ClapBackend, find_clap_dir
from benchmark.embeddings import get_backend
from hafm.errors import MissingWeightsError

SR = 48_000


@pytest.fixture(scope="module")
def clap_dir(tmp_path_factory):
    """HTSAT audio tower (4 Swin stages of 1 block, 8 channels) and a 1-layer text tower, 16-d projection."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    torch.manual_seed(0)
    audio = dict(window_size=8, num_mel_bins=64, spec_size=256, patch_size=4, patch_stride=[4, 4],
                 depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1], patch_embeds_hidden_size=8,
                 hidden_size=64, projection_dim=16, enable_fusion=False)
    text = dict(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16,
                projection_dim=16, max_position_embeddings=64)
    folder = tmp_path_factory.mktemp("clap")
    ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=16)).save_pretrained(folder)
    ClapFeatureExtractor(truncation="rand_trunc").save_pretrained(folder)  # as laion/clap-htsat-unfused
    return folder


@pytest.fixture(scope="module")
def clap(clap_dir):
    return get_backend("clap", weights=str(clap_dir))


def chirp(seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)


def test_window_starts_cover_the_audio_without_running_past_it(clap):
    window, hop = 10 * SR, SR
    assert clap.starts(5 * SR) == [0]
    assert clap.starts(window) == [0]
    assert clap.starts(window + hop + 100) == [0, hop, hop + 100]  # the last window ends at the end


def test_embeds_windows_as_unit_vectors_at_any_rate(clap):
    frames = clap.embed(chirp(12.0, 44_100), 44_100)  # 10 s windows every 1 s: starts 0, 1, 2 s
    assert frames.shape == (3, 16) and frames.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, rtol=1e-5)


def test_short_audio_is_one_padded_window_and_deterministic(clap):
    wav = chirp(2.0, 16_000)
    first = clap.embed(wav, 16_000)
    assert first.shape == (1, 16)
    np.testing.assert_array_equal(first, clap.embed(wav, 16_000))


def test_different_audio_gives_different_vectors(clap):
    a = clap.embed(chirp(3.0, SR), SR)
    b = clap.embed(0.3 * np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32), SR)
    assert float(a[0] @ b[0]) < 0.999


def test_fingerprint_follows_the_weights(clap_dir, clap):
    other = ClapBackend(weights=str(clap_dir))
    assert other.fingerprint == clap.fingerprint
    with torch.no_grad():
        next(other.network().audio_projection.parameters()).add_(1.0)
    other._fingerprint = None
    assert other.fingerprint != clap.fingerprint


def test_missing_folder_or_files_say_what_to_save(tmp_path, monkeypatch):
    monkeypatch.delenv("HAFM_CLAP_DIR", raising=False)
    with pytest.raises(MissingWeightsError, match="save_pretrained"):
        find_clap_dir()
    with pytest.raises(MissingWeightsError, match="missing config.json, preprocessor_config.json"):
        find_clap_dir(tmp_path)


def test_folder_from_the_environment(clap_dir, monkeypatch):
    monkeypatch.setenv("HAFM_CLAP_DIR", str(clap_dir))
    assert find_clap_dir() == clap_dir
