"""The k-means semantic tokenizer: frame counts, protocol, save/load, refusals, standardisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hafm.errors import AudioError, HafmError, MissingWeightsError
from hafm.tokenizers.alignment import semantic_frames
from hafm.tokenizers.base import SemanticTokenizer
from hafm.tokenizers.features import FeatureConfig, MfccChromaFeatures
from hafm.tokenizers.fitting.semantic import fit_kmeans
from hafm.tokenizers.semantic import SemanticConfig, load_semantic, standardisation

CFG = SemanticConfig(features=FeatureConfig(kind="mfcc"), n_clusters=8, seed=3)


@pytest.fixture(scope="module")
def train_frames() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(64_000) / 16_000
    wav = sum(0.2 * np.sin(2 * np.pi * f * t) * (rng.random() + (t % 1 > 0.5)) for f in (220, 330, 495))
    wav = (wav + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)
    return MfccChromaFeatures()(wav)


@pytest.fixture(scope="module")
def tokenizer(train_frames):
    return fit_kmeans(train_frames, CFG, extractor=MfccChromaFeatures())


@pytest.mark.parametrize("n", [1, 319, 641, 36_817])
def test_token_count_follows_alignment(tokenizer, wav_16k, n):
    wav = torch.from_numpy(np.resize(wav_16k, n))[None, None]
    tokens = tokenizer.encode(wav)
    assert tokens.shape == (1, semantic_frames(n, 16_000)) and tokens.dtype == torch.int64


def test_batch_rows_are_encoded_independently(tokenizer, wav_16k):
    batch = torch.from_numpy(np.stack([wav_16k, wav_16k[::-1].copy()]))[:, None]
    tokens = tokenizer.encode(batch)
    torch.testing.assert_close(tokens[1], tokenizer.encode(batch[1:])[0])


def test_tokens_lie_in_the_codebook(tokenizer, wav_16k):
    tokens = tokenizer.encode(torch.from_numpy(wav_16k)[None, None])
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 8


def test_satisfies_the_protocol(tokenizer):
    assert isinstance(tokenizer, SemanticTokenizer)
    assert (tokenizer.sample_rate, tokenizer.frame_rate, tokenizer.n_clusters) == (16_000, 50, 8)


def test_save_load_round_trip(tokenizer, tmp_path, wav_16k):
    path = tmp_path / "tok.safetensors"
    tokenizer.save(path)
    loaded = load_semantic(str(path))
    wav = torch.from_numpy(wav_16k)[None, None]
    assert loaded.identity() == tokenizer.identity()
    torch.testing.assert_close(loaded.encode(wav), tokenizer.encode(wav))


def test_identity_changes_with_the_centroids(tokenizer, train_frames):
    other = fit_kmeans(train_frames, SemanticConfig(features=CFG.features, n_clusters=8, seed=4))
    assert other.identity() != tokenizer.identity()


def test_fit_is_deterministic_for_a_seed(tokenizer, train_frames):
    again = fit_kmeans(train_frames, CFG, extractor=MfccChromaFeatures())
    torch.testing.assert_close(again.centroids, tokenizer.centroids)


def test_tampered_file_is_refused(tokenizer, tmp_path):
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    path = tmp_path / "tok.safetensors"
    tokenizer.save(path)
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    arrays = load_file(str(path))
    arrays["centroids"] = arrays["centroids"] + 1.0
    save_file(arrays, str(path), metadata=meta)
    with pytest.raises(HafmError, match="identity"):
        load_semantic(str(path))


def test_not_a_tokenizer_file_is_refused(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"not safetensors at all")
    with pytest.raises(HafmError):
        load_semantic(str(path))


def test_missing_file_names_the_fit_command(tmp_path):
    with pytest.raises(MissingWeightsError):
        load_semantic(str(tmp_path / "absent.safetensors"))


@pytest.mark.parametrize("bad", [torch.zeros(1, 3200), torch.full((1, 1, 3200), float("nan"))])
def test_encode_refuses_bad_input(tokenizer, bad):
    with pytest.raises(AudioError):
        tokenizer.encode(bad)


def test_too_few_frames_for_k_raises(train_frames):
    with pytest.raises(HafmError, match="clusters"):
        fit_kmeans(train_frames[:5], CFG)


def test_standardisation_balances_blocks_and_keeps_dead_channels_small():
    rng = np.random.default_rng(0)
    frames = np.concatenate([rng.normal(0, 5, (2000, 6)), np.zeros((2000, 1)), rng.normal(2, 0.1, (2000, 2))], 1)
    mean, scale = standardisation(frames.astype(np.float32), 1e-2, blocks=(7, 2))
    z = (frames - mean) / scale
    np.testing.assert_allclose(z[:, :7].var(0).sum(), z[:, 7:].var(0).sum(), rtol=1e-3)
    assert z[:, 6].var() < 1e-6


def test_config_from_toml(tmp_path):
    path = tmp_path / "semantic.toml"
    path.write_text('n_clusters = 16\n[features]\nkind = "mfcc"\nn_mfcc = 13\n')
    cfg = SemanticConfig.from_toml(path)
    assert (cfg.n_clusters, cfg.features.kind, cfg.features.n_mfcc) == (16, "mfcc", 13)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="n_cluster"):
        SemanticConfig.from_dict({"n_cluster": 3})


@pytest.mark.parametrize("name,kind,dim", [(None, "musicnn_chroma", 765), ("musicnn", "musicnn", 753),
                                           ("mfcc", "mfcc", 32)])
def test_shipped_tokenizers_have_500_clusters(name, kind, dim):
    tok = load_semantic(name)
    assert (tok.n_clusters, tok.features_config.kind, tok.centroids.shape[1]) == (500, kind, dim)
