"""``hafm.audio.loudness`` against ITU-R BS.1770-4: the standard's reference tone and an independent
implementation of the standard (its published 48 kHz filter coefficients and gating) on test signals.

The tolerance is EBU Tech 3341's for a loudness meter, +-0.1 LU. pyloudnorm's K-weighting filters
(designed for any rate from rounded parameters) read 0.04 LU below the published coefficients at
48 kHz on every signal measured here (tones, noise, gated sequences).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from hafm import audio

SR = 48_000  # the rate of the standard's published coefficients
TOLERANCE_LU = 0.1  # EBU Tech 3341
# ITU-R BS.1770-4, tables 1 and 2: the pre-filter (high shelf) and the RLB high-pass at 48 kHz.
SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585])
HIGH_PASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def bs1770_reference(x: np.ndarray) -> float:
    """Integrated loudness (LUFS) of ``x [C, n]`` at 48 kHz, step by step as BS.1770-4 writes it:
    K-weighting, mean square per 400 ms block every 100 ms, channel weights 1, a -70 LUFS absolute
    gate, then a relative gate 10 LU below the loudness of the blocks that passed the first."""
    y = lfilter(*HIGH_PASS, lfilter(*SHELF, x, axis=1), axis=1)
    block, step = int(0.4 * SR), int(0.1 * SR)
    power = np.array([np.mean(y[:, s:s + block] ** 2, axis=1).sum() for s in range(0, y.shape[1] - block + 1, step)])
    with np.errstate(divide="ignore"):  # a silent block is -inf LUFS, which the absolute gate drops
        lufs = -0.691 + 10 * np.log10(power)
    above = power[lufs > -70]
    relative_gate = -0.691 + 10 * np.log10(above.mean()) - 10
    return float(-0.691 + 10 * np.log10(above[lufs[lufs > -70] > relative_gate].mean()))


def sine(hz: float, dbfs: float, seconds: float, channels: int = 1, sr: int = SR) -> np.ndarray:
    """A sine of peak ``dbfs`` as ``[channels, n]``."""
    t = np.arange(int(seconds * sr)) / sr
    return np.tile(10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t), (channels, 1))


@pytest.mark.parametrize("sr", [SR, 24_000, 16_000])
def test_a_full_scale_997_hz_sine_in_one_channel_reads_minus_3_01_lufs(sr):
    # BS.1770-4, 2.1: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS.
    assert audio.loudness(sine(997, 0.0, 3.0, sr=sr), sr) == pytest.approx(-3.01, abs=TOLERANCE_LU)


def test_a_minus_23_dbfs_stereo_sine_reads_minus_23_lufs():
    # EBU Tech 3341, test 1: 1 kHz at -23 dBFS in both channels.
    assert audio.loudness(sine(1000, -23.0, 3.0, channels=2), SR) == pytest.approx(-23.0, abs=TOLERANCE_LU)


def test_the_relative_gate_leaves_out_the_quiet_parts():
    # EBU Tech 3341, test 3, shortened to 1 / 4 / 1 s: the -36 dBFS parts fall under the relative
    # gate. Ungated they would pull the reading 1.6 LU under the -23 dBFS part's; what is left
    # (0.3 LU) comes from the few blocks that straddle a change, which the 60 s original dilutes.
    quiet, loud = sine(1000, -36.0, 1.0), sine(1000, -23.0, 4.0)
    sequence = np.concatenate([quiet, loud, quiet], axis=1)
    assert audio.loudness(sequence, SR) == pytest.approx(audio.loudness(loud, SR), abs=0.4)


@pytest.mark.parametrize("signal", ["stereo_noise", "brown_noise", "bass_tone", "treble_tone", "gated_bursts"])
def test_loudness_matches_the_reference_implementation(signal):
    rng = np.random.default_rng(0)
    x = {
        "stereo_noise": lambda: 0.1 * rng.standard_normal((2, 3 * SR)),
        "brown_noise": lambda: lfilter([1.0], [1.0, -0.95], 0.01 * rng.standard_normal((1, 3 * SR)), axis=1),
        "bass_tone": lambda: sine(60, -10.0, 2.0),
        "treble_tone": lambda: sine(8000, -10.0, 2.0),
        "gated_bursts": lambda: np.concatenate([sine(440, -20.0, 1.0), np.zeros((1, SR)), sine(440, -40.0, 1.0)], 1),
    }[signal]()
    assert audio.loudness(x, SR) == pytest.approx(bs1770_reference(x), abs=TOLERANCE_LU)


def test_silence_reads_minus_infinity():
    assert audio.loudness(np.zeros((2, SR)), SR) == -np.inf


def test_a_clip_shorter_than_one_block_is_measured_padded_to_one():
    # 200 ms of a tone in a 400 ms block: half the energy, 3.01 dB below the tone's loudness
    tone = sine(997, -10.0, 2.0)
    assert audio.loudness(tone[:, : SR // 5], SR) == pytest.approx(audio.loudness(tone, SR) - 3.01, abs=0.05)


def test_arrays_tensors_and_mono_vectors_read_the_same():
    x = sine(440, -12.0, 1.0).astype(np.float32)
    values = {audio.loudness(x, SR), audio.loudness(x[0], SR), audio.loudness(torch.from_numpy(x), SR)}
    assert len(values) == 1
