"""Tests of hafm.audio: reading and writing, round trips, and every refusal (resampling and loudness:
``test_audio_resample.py``, ``test_audio_loudness.py``)."""

import numpy as np
import pytest
import soundfile as sf
import torch

from hafm import audio
from hafm.errors import AudioError

SR = 24_000


@pytest.fixture
def tone() -> torch.Tensor:
    t = torch.arange(SR) / SR
    return (0.3 * torch.sin(2 * torch.pi * 440 * t)).unsqueeze(0)


@pytest.fixture
def stereo_file(tmp_path, tone):
    path = tmp_path / "stereo.wav"
    sf.write(path, torch.cat([tone, 0.5 * tone]).numpy().T, SR)
    return path


def test_load_downmixes_stereo_to_mono(stereo_file, tone):
    wav, sr = audio.load(stereo_file)
    assert sr == SR and wav.shape == (1, SR)
    assert torch.allclose(wav, 0.75 * tone, atol=1e-4)


def test_load_keeps_channels_when_not_mono(stereo_file):
    wav, _ = audio.load(stereo_file, mono=False)
    assert wav.shape == (2, SR) and wav.dtype == torch.float32


def test_load_resamples(stereo_file):
    wav, sr = audio.load(stereo_file, sr=16_000)
    assert sr == 16_000 and wav.shape == (1, 16_000)


def test_write_round_trip_pcm16(tmp_path, tone):
    path = tmp_path / "out.wav"
    audio.write(path, tone, SR)
    assert sf.info(path).subtype == "PCM_16"
    wav, _ = audio.load(path)
    assert torch.allclose(wav, tone, atol=1 / 32767 + 1e-6)


def test_write_float_is_exact(tmp_path, tone):
    path = tmp_path / "out.wav"
    audio.write(path, tone, SR, subtype="FLOAT")
    assert torch.equal(audio.load(path)[0], tone)


def test_write_leaves_no_temp_files(tmp_path, tone):
    audio.write(tmp_path / "a.wav", tone, SR)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_write_to_a_directory_or_unknown_extension_is_refused(tmp_path, tone):
    with pytest.raises(AudioError, match="is a directory"):
        audio.write(tmp_path, tone, SR)
    with pytest.raises(AudioError, match="extension '.wavv'"):
        audio.write(tmp_path / "x.wavv", tone, SR)
    assert list(tmp_path.iterdir()) == []


def test_flac_round_trip(tmp_path, tone):
    path = tmp_path / "a.flac"
    audio.write(path, tone, SR)
    assert audio.load(path)[0].shape == (1, SR)


def test_write_takes_int16_samples_bit_for_bit(tmp_path):
    # dithered stimuli are quantised before writing; a float round trip would change the LSBs
    pcm = np.random.default_rng(0).integers(-32768, 32768, size=(2, 1000)).astype(np.int16)
    audio.write(tmp_path / "pcm.wav", pcm, SR)
    assert np.array_equal(sf.read(tmp_path / "pcm.wav", dtype="int16")[0].T, pcm)


def test_write_takes_numpy_as_well_as_tensors(tmp_path, tone):
    audio.write(tmp_path / "np.wav", tone.numpy()[0], SR, subtype="FLOAT")
    assert torch.equal(audio.load(tmp_path / "np.wav")[0], tone)


def test_read_gives_numpy_and_load_gives_the_same_as_a_tensor(stereo_file):
    wav, sr = audio.read(stereo_file, mono=False)
    assert isinstance(wav, np.ndarray) and wav.dtype == np.float32 and wav.shape == (2, SR)
    assert np.array_equal(audio.load(stereo_file, mono=False)[0].numpy(), wav)


def test_a_clip_that_resamples_to_nothing_is_refused(tmp_path):
    path = tmp_path / "one.wav"
    sf.write(path, np.full(1, 0.5, np.float32), 48_000)  # 1 sample at 48 kHz is 0.33 samples at 16 kHz
    with pytest.raises(AudioError, match="one.wav: empty audio"):
        audio.load(path, sr=16_000)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        audio.load(tmp_path / "nope.wav")


def test_directory_is_refused(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        audio.load(tmp_path)


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    with pytest.raises(AudioError, match="notes.wav: unreadable"):
        audio.load(path)


def test_truncated_file_is_refused(tmp_path, tone):
    path = tmp_path / "cut.flac"
    audio.write(path, tone, SR)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(AudioError, match="cut.flac"):
        audio.load(path)


def test_truncated_wav_is_refused(tmp_path, tone):
    # libsndfile would read the few samples that are left; the header's data size gives it away
    path = tmp_path / "cut.wav"
    audio.write(path, tone, SR)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(AudioError, match="cut.wav: truncated wav"):
        audio.load(path)


def test_complete_wav_with_an_extra_chunk_loads(tmp_path, tone):
    path = tmp_path / "tagged.wav"
    audio.write(path, tone, SR)
    raw = path.read_bytes()
    extra = b"LIST" + (3).to_bytes(4, "little") + b"abc\x00"  # odd size: one pad byte
    tagged = raw[:4] + (len(raw) - 8 + len(extra)).to_bytes(4, "little") + raw[8:12] + extra + raw[12:]
    path.write_bytes(tagged)
    assert audio.load(path)[0].shape == (1, SR)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), SR)
    with pytest.raises(AudioError, match="empty"):
        audio.load(path)


def test_silent_file_is_refused(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((SR, 1), dtype=np.float32), SR)
    with pytest.raises(AudioError, match="silent.wav: audio is silent"):
        audio.load(path)


def test_silent_file_allowed_on_request(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((SR, 1), dtype=np.float32), SR)
    assert audio.load(path, allow_silent=True)[0].abs().max() == 0


def test_nan_file_is_refused(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.full((SR, 1), 0.1, dtype=np.float32)
    data[10] = np.nan
    sf.write(path, data, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains 1 NaN"):
        audio.load(path)


def test_long_file_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.full((8_000 * 10, 1), 0.1, dtype=np.float32), 8_000)
    with pytest.raises(AudioError, match="exceeds the limit"):
        audio.load(path, max_seconds=5)


def test_long_file_allowed_on_request(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.full((8_000 * 10, 1), 0.1, dtype=np.float32), 8_000)
    assert audio.load(path, max_seconds=None)[0].shape == (1, 80_000)


def test_validate_refuses_int_array():
    with pytest.raises(AudioError, match="dtype int16"):
        audio.validate(np.ones(100, dtype=np.int16), "ints")


def test_validate_refuses_inf():
    wav = torch.ones(1, 10)
    wav[0, 3] = float("inf")
    with pytest.raises(AudioError, match="NaN or infinite"):
        audio.validate(wav)


def test_validate_refuses_3d():
    with pytest.raises(AudioError, match="shape"):
        audio.validate(torch.ones(1, 1, 10))


def test_validate_refuses_list():
    with pytest.raises(AudioError, match="got list"):
        audio.validate([0.1, 0.2])


def test_validate_long_vocal_names_limit():
    with pytest.raises(AudioError, match="vocal: 180.0 min"):
        audio.validate(torch.full((1, 10_800 * 100), 0.1), "vocal", sr=100)
