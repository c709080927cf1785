"""50 Hz feature extractors: rate conversion, shapes, HuBERT from a local folder."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hafm.errors import MissingWeightsError
from hafm.tokenizers.features import (FeatureConfig, HubertFeatures, MfccChromaFeatures, MusicnnFeatures,
                                      build_extractor, to_semantic_rate)

N = 20_480  # 1.28 s at 16 kHz = 32 blocks of 40 ms


@pytest.fixture
def block_wav(wav_16k: np.ndarray) -> np.ndarray:
    return wav_16k[:N]


def test_rate_conversion_interpolates_linearly_at_frame_centres():
    src = np.arange(100, dtype=np.float32)[:, None] * 2.0  # value = 2 * frame index, 62.5 Hz
    out = to_semantic_rate(src, 62.5, 40)
    centres = (np.arange(40) + 0.5) / 50
    np.testing.assert_allclose(out[:, 0], 2.0 * centres * 62.5, rtol=1e-5)


def test_rate_conversion_holds_the_ends():
    out = to_semantic_rate(np.ones((3, 2), np.float32), 62.5, 10)
    np.testing.assert_array_equal(out, np.ones((10, 2), np.float32))


def test_musicnn_features_are_753_at_50hz(block_wav):
    assert MusicnnFeatures("MSD_musicnn")(block_wav).shape == (N // 320, 753)


def test_musicnn_chroma_appends_12_bins(block_wav):
    ext = build_extractor(FeatureConfig(kind="musicnn_chroma"))
    assert ext.blocks == (753, 12)
    assert ext(block_wav).shape == (N // 320, 765)


def test_vgg_has_no_frame_features():
    with pytest.raises(ValueError, match="musicnn model"):
        MusicnnFeatures("MSD_vgg")


def test_mfcc_chroma_features_shape(block_wav):
    assert MfccChromaFeatures(20)(block_wav).shape == (N // 320, 32)


def test_features_refuse_partial_blocks(wav_16k):
    with pytest.raises(ValueError, match="640"):
        MfccChromaFeatures()(wav_16k[:1000])


def test_hubert_gives_one_frame_per_20ms(tiny_hubert_dir, block_wav):
    feats = HubertFeatures(str(tiny_hubert_dir), layer=3)(block_wav)
    assert feats.shape == (N // 320, 16)


def test_hubert_layer_selects_a_hidden_state(tiny_hubert_dir, block_wav):
    first = HubertFeatures(str(tiny_hubert_dir), layer=1)(block_wav)
    third = HubertFeatures(str(tiny_hubert_dir), layer=3)(block_wav)
    assert not np.allclose(first, third)


def test_hubert_chunks_cover_long_input(tiny_hubert_dir, wav_16k):
    wav = np.tile(wav_16k[:N], 3)
    feats = HubertFeatures(str(tiny_hubert_dir), layer=2, chunk_seconds=0.4)(wav)
    assert feats.shape == (3 * N // 320, 16)


def test_hubert_layer_out_of_range(tiny_hubert_dir):
    with pytest.raises(ValueError, match="layers"):
        HubertFeatures(str(tiny_hubert_dir), layer=9)


def test_missing_hubert_dir_raises(tmp_path):
    with pytest.raises(MissingWeightsError, match="HuBERT"):
        HubertFeatures(str(tmp_path / "nowhere"))


def test_unknown_feature_kind_raises():
    with pytest.raises(ValueError, match="mfcc"):
        FeatureConfig(kind="wav2vec")


def test_hubert_normalises_audio_when_its_preprocessor_says_so(tiny_hubert_dir, tmp_path, block_wav):
    import shutil

    normalising = tmp_path / "hubert_norm"
    shutil.copytree(tiny_hubert_dir, normalising)
    (normalising / "preprocessor_config.json").write_text('{"do_normalize": true}')
    plain = HubertFeatures(str(tiny_hubert_dir), layer=3)
    norm = HubertFeatures(str(normalising), layer=3)
    np.testing.assert_allclose(norm(block_wav), plain((block_wav - block_wav.mean()) / block_wav.std()), atol=1e-4)


def test_building_an_extractor_loads_librosa_chroma_not_the_first_clip():
    # a fresh interpreter: in this one librosa may already be loaded by other tests
    code = ("import sys; from hafm.tokenizers.features import MfccChromaFeatures; "
            "before = 'librosa.feature.spectral' in sys.modules; MfccChromaFeatures(); "
            "print(before, 'librosa.feature.spectral' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
