"""Onset sources on constructed inputs whose onsets are known (no network)."""

import numpy as np
import pytest

from benchmark.music.notes import Notes
from benchmark.music.onsets import attack_times, posteriorgram_onsets, snap_onsets

SR = 24_000


def test_snap_moves_onsets_to_the_nearest_attack_within_the_window(line):
    notes = line([60, 62, 64], [0.5, 1.0, 1.5], 0.4)
    snapped = snap_onsets(notes, np.array([0.45, 1.12, 1.9]), within_s=0.1)
    assert snapped.onset == pytest.approx([0.45, 1.0, 1.5])  # 1.12 and 1.9 are too far
    assert snapped.offset == pytest.approx([0.9, 1.4, 1.9]) and snapped.pitch.tolist() == [60, 62, 64]


def test_snap_without_attacks_or_notes_changes_nothing(line):
    notes = line([60], [0.5], 0.4)
    assert snap_onsets(notes, np.zeros(0), 0.1) is notes
    assert len(snap_onsets(Notes.empty(), np.array([0.5]), 0.1)) == 0


def _plucks(tones, starts, seconds=2.0):
    """A4 notes struck at ``starts`` (s) that die away (60 dB over 0.4 s): attacks, no sharp ends."""
    burst = tones([69], SR, 0.4) * np.exp(-np.arange(int(0.4 * SR)) / SR * 17).astype(np.float32)
    audio = np.zeros(int(seconds * SR), np.float32)
    for t in starts:
        audio[int(t * SR): int(t * SR) + len(burst)] += burst
    return audio


def test_attacks_of_struck_notes_are_found_within_20_ms(tones):
    starts = [0.2, 0.7, 1.2, 1.6]
    audio = _plucks(tones, starts)
    found = attack_times(audio, SR, delta=0.1, lag_s=0.0)
    assert len(found) == len(starts)
    assert np.abs(found - starts).max() < 0.02


def test_attacks_of_silence_or_a_blip_are_none():
    assert len(attack_times(np.zeros(100, np.float32), SR, 0.1, 0.0)) == 0


def test_posteriorgram_peaks_above_the_threshold_are_onsets():
    times = np.arange(100) * 0.01
    onset = np.zeros((100, 88), np.float32)
    onset[20, 40], onset[19, 40], onset[21, 40] = 0.9, 0.5, 0.5  # a clear peak
    onset[50, 10] = 0.8  # another pitch
    onset[80, 30] = 0.4  # too weak
    found = posteriorgram_onsets(onset, times, threshold=0.7, lag_s=0.02)
    assert found == pytest.approx([0.18, 0.48])
