"""Output formats of hafm.audio.write: each extension gets its own encoder, and every path is checked
(format, subtype, rate, channels) before any work."""

import numpy as np
import pytest
import soundfile as sf
import torch

from hafm import audio
from hafm.errors import AudioError

SR = 24_000
HAS_MP3 = "MP3" in sf.available_formats()  # libsndfile >= 1.1 built with LAME/mpg123
needs_mp3 = pytest.mark.skipif(not HAS_MP3, reason=f"libsndfile {sf.__libsndfile_version__} has no MP3")


@pytest.fixture
def tone() -> torch.Tensor:
    t = torch.arange(2 * SR) / SR
    return (0.3 * torch.sin(2 * torch.pi * 440 * t)).unsqueeze(0)


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.numpy().ravel(), b.numpy().ravel())[0, 1])


@pytest.mark.parametrize("ext, subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS"),
                                          pytest.param(".mp3", "MPEG_LAYER_III", marks=needs_mp3)])
def test_each_extension_is_written_with_its_encoder(tmp_path, tone, ext, subtype):
    path = tmp_path / f"out{ext}"
    audio.write(path, tone, SR)
    assert sf.info(path).subtype == subtype
    wav, sr = audio.load(path)
    assert sr == SR and wav.shape == tone.shape and _correlation(wav, tone) > 0.99


def test_a_subtype_the_format_cannot_hold_is_refused_naming_the_choices(tmp_path, tone):
    with pytest.raises(AudioError, match="OGG files cannot hold subtype PCM_16.*VORBIS"):
        audio.write(tmp_path / "out.ogg", tone, SR, subtype="PCM_16")
    assert list(tmp_path.iterdir()) == []


@needs_mp3
def test_a_rate_the_mp3_encoder_refuses_is_caught_by_the_check(tmp_path):
    audio.check_output_path(tmp_path / "ok.mp3", sr=SR, channels=1)
    with pytest.raises(AudioError, match="96000 Hz.*44100"):
        audio.check_output_path(tmp_path / "x.mp3", sr=96_000, channels=1)


def test_mp3_without_libsndfile_support_is_refused_by_extension(tmp_path, monkeypatch):
    formats = {k: v for k, v in sf.available_formats().items() if k != "MP3"}
    monkeypatch.setattr(audio.sf, "available_formats", lambda: formats)
    with pytest.raises(AudioError, match=r"extension '\.mp3'.*writes \.wav, \.flac, \.ogg\)"):
        audio.check_output_path(tmp_path / "x.mp3")


def test_lossy_output_is_clipped_to_full_scale(tmp_path, tone):
    path = tmp_path / "loud.ogg"
    audio.write(path, 4 * tone, SR)  # peak 1.2: the encoder gets [-1, 1], not a wrapped or overdriven signal
    assert np.abs(sf.read(path)[0]).max() < 1.1
