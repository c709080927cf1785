import numpy as np
import pytest

from benchmark.music import damage
from benchmark.music.notes import Notes

SR = 24_000


def _one_note():
    return Notes.from_array(np.array([[0.5, 1.0, 60, 1.0]]))


def test_shift_delays_audio_and_notes():
    audio = np.zeros(SR, np.float32)
    audio[100] = 1.0
    out, notes = damage.shift(250)(audio, _one_note())
    assert np.argmax(out) == 100 + SR // 4 and len(out) == SR and notes.onset[0] == 0.75


def test_transpose_moves_the_spectrum_and_the_notes(tones):
    out, notes = damage.transpose(12)(tones([57], seconds=1.0), _one_note())
    spectrum = np.abs(np.fft.rfft(out))
    assert notes.pitch[0] == 72 and np.argmax(spectrum) == pytest.approx(440, abs=3)  # 1 s: bins are Hz


def test_tempo_slows_the_notes():
    _, notes = damage.tempo(1.2)(np.zeros(SR, np.float32), _one_note())
    assert notes.onset[0] == pytest.approx(0.6)


def test_noise_keeps_the_loudness_and_has_no_notes(tones):
    audio = tones([60])
    out, notes = damage.noise(0)(audio, _one_note())
    assert len(notes) == 0 and np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(audio**2)), rel=0.02)
