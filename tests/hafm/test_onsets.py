"""The vocal onset stream (hafm.onsets.onset_stream): note starts at 50 Hz, from audio alone; and the
repeat bias of onset-synchronous decoding built from it."""

import numpy as np
import pytest
import torch

from hafm.onsets import ONSET_SR, onset_hold_bias, onset_stream

NOTE_S = 0.5
LEAD_S = 0.2  # a rest before the first note: a note at sample 0 has no frame before it to differ from


def _melody(pitches_hz, gap_s: float = 0.0) -> np.ndarray:
    """Notes of ``NOTE_S`` seconds with 10 ms attacks and 50 ms releases, after ``LEAD_S`` of rest, back to
    back (legato) or with ``gap_s`` rests."""
    notes = [np.zeros(int(LEAD_S * ONSET_SR))]
    t = np.arange(int((NOTE_S - gap_s) * ONSET_SR)) / ONSET_SR
    envelope = np.minimum(1.0, np.minimum(t / 0.01, (t[-1] - t) / 0.05)) * np.exp(-t)
    for f in pitches_hz:
        note = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)) * envelope * 0.2
        notes.extend([note, np.zeros(int(gap_s * ONSET_SR))])
    return np.concatenate(notes).astype(np.float32)


@pytest.mark.parametrize("gap_s", [0.0, 0.1])
def test_each_note_start_is_flagged_within_one_frame(gap_s):
    pitches = [440.0, 494.0, 523.0, 587.0, 523.0, 440.0]
    flags = onset_stream(_melody(pitches, gap_s), n_frames=150)
    found = np.flatnonzero(flags)
    starts = (LEAD_S + np.arange(len(pitches)) * NOTE_S) * 50
    assert all(np.min(np.abs(found - s)) <= 1 for s in starts)
    assert len(found) == len(pitches)  # nothing flagged within or between the notes


def test_silence_has_no_onsets_and_the_length_is_as_asked():
    flags = onset_stream(np.zeros(ONSET_SR, np.float32), n_frames=60)
    assert flags.shape == (60,) and flags.dtype == np.uint8 and not flags.any()


def test_stream_is_cut_to_the_asked_frames():
    flags = onset_stream(_melody([440.0, 660.0]), n_frames=12)
    assert flags.shape == (12,) and flags[int(LEAD_S * 50)] == 1


def test_hold_bias_holds_away_from_onsets_and_pushes_a_change_at_them():
    onsets = torch.zeros(1, 10, dtype=torch.long)
    onsets[0, 4] = 1
    bias = onset_hold_bias(onsets, 10, 50, 2.0)
    assert bias[0].tolist() == [2.0, 2.0, 2.0, 0.0, -2.0, 0.0, 2.0, 2.0, 2.0, 2.0]


def test_hold_bias_at_75_hz_follows_the_50_hz_frames():
    onsets = torch.zeros(1, 10, dtype=torch.long)
    onsets[0, 4] = 1  # 80-100 ms: 75 Hz frames 6 and 7
    bias = onset_hold_bias(onsets, 15, 75, 1.0)
    assert torch.nonzero(bias[0] < 0).flatten().tolist() == [6, 7]
    assert (bias[0, 9:] == 1.0).all() and (bias[0, :5] == 1.0).all()
