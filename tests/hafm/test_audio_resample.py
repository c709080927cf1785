"""``hafm.audio.resample``: the toolkit's one resampler keeps a tone's frequency and level, removes
what the new rate cannot hold, gives ``round(n * out / in)`` samples, and returns what it was given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hafm import audio
from hafm.errors import AudioError

RATE_PAIRS = [(44_100, 16_000), (44_100, 24_000), (24_000, 16_000), (16_000, 44_100), (44_101, 16_000)]


def tone(hz: float, sr: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def amplitude_at(x: np.ndarray, hz: float, sr: int) -> float:
    """The amplitude of the ``hz`` component of ``x [n]``, from its middle half (away from the edges)."""
    start, stop = len(x) // 4, 3 * len(x) // 4
    t = np.arange(start, stop) / sr
    return float(2 * np.abs(np.mean(x[start:stop] * np.exp(-2j * np.pi * hz * t))))


@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_a_tone_keeps_its_frequency_and_amplitude(sr_in, sr_out):
    y = audio.resample(tone(1000, sr_in), sr_in, sr_out)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1 / sr_out)[spectrum.argmax()] == pytest.approx(1000, abs=2)
    assert amplitude_at(y, 1000, sr_out) == pytest.approx(0.5, rel=1e-3)


def test_the_passband_is_flat_to_90_percent_of_the_new_nyquist_frequency():
    y = audio.resample(tone(7200, 44_100), 44_100, 16_000)
    assert 20 * np.log10(amplitude_at(y, 7200, 16_000) / 0.5) == pytest.approx(0.0, abs=0.05)


def test_a_tone_above_the_new_nyquist_frequency_leaves_no_alias():
    # 8.4 kHz at 16 kHz would fold to 7.6 kHz
    y = audio.resample(tone(8400, 44_100), 44_100, 16_000)
    assert 20 * np.log10(amplitude_at(y, 7600, 16_000) / 0.5 + 1e-12) < -100


@pytest.mark.parametrize("n", [2, 3, 7, 101, 44_099, 44_100])
@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_the_length_is_n_times_the_rate_ratio_rounded(n, sr_in, sr_out):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    assert audio.resample(x, sr_in, sr_out).shape == (round(n * sr_out / sr_in),)


def test_channels_first_each_channel_is_resampled_on_its_own():
    x = np.stack([tone(500, 44_100), tone(2000, 44_100, amplitude=0.25)])
    y = audio.resample(x, 44_100, 16_000)
    assert y.shape == (2, 16_000)
    assert amplitude_at(y[0], 500, 16_000) == pytest.approx(0.5, rel=1e-3)
    assert amplitude_at(y[1], 2000, 16_000) == pytest.approx(0.25, rel=1e-3)
    assert amplitude_at(y[0], 2000, 16_000) < 1e-4


def test_a_tensor_comes_back_as_a_tensor_with_the_same_samples():
    x = tone(440, 24_000)[None]
    y = audio.resample(torch.from_numpy(x), 24_000, 16_000)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and y.shape == (1, 16_000)
    assert np.array_equal(y.numpy(), audio.resample(x, 24_000, 16_000))


def test_float64_stays_float64_and_the_same_rate_is_left_alone():
    x = tone(440, 24_000).astype(np.float64)
    assert audio.resample(x, 24_000, 16_000).dtype == np.float64
    assert audio.resample(x, 24_000, 24_000) is x


def test_a_non_positive_rate_is_refused():
    with pytest.raises(AudioError, match="rates must be positive"):
        audio.resample(np.zeros(10, np.float32), 0, 16_000)
