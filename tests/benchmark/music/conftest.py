import numpy as np
import pytest

from benchmark.music.notes import Notes

SR = 24_000


def _line(pitches, onsets, length):
    """Notes of one line: ``pitches[i]`` from ``onsets[i]`` for ``length`` seconds, confidence 1."""
    return Notes.from_array(np.array([(t, t + length, p, 1.0) for p, t in zip(pitches, onsets)]))


def _chord(pitches, start, end):
    return Notes.from_array(np.array([(start, end, p, 1.0) for p in pitches]))


def _tones(pitches, sr=SR, seconds=2.0, amp=0.2):
    """Sum of steady harmonic tones (3 partials) at MIDI ``pitches`` for ``seconds``: ``[n]`` float32."""
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros_like(t)
    for p in pitches:
        f = 440.0 * 2 ** ((p - 69) / 12)
        out += sum(amp / k * np.sin(2 * np.pi * k * f * t) for k in (1, 2, 3))
    fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)
    return (out * fade).astype(np.float32)


@pytest.fixture
def line():
    """``line(pitches, onsets, length)``: one line of notes of ``length`` s each."""
    return _line


@pytest.fixture
def chord():
    """``chord(pitches, start, end)``: notes sounding together."""
    return _chord


@pytest.fixture
def tones():
    """``tones(pitches, sr, seconds, amp)``: steady harmonic tones as audio ``[n]``."""
    return _tones


@pytest.fixture
def c_major_triad():
    """C4 E4 G4 held for 2 s."""
    return _chord([60, 64, 67], 0.0, 2.0)


class _FakeTracker:
    """A backend whose model pass is the given notes themselves, whatever the audio (no network)."""

    name = "fake"
    fingerprint = "fake"

    def __init__(self, notes: Notes):
        self.notes = notes

    def model_output(self, wav, sr):
        return {"rows": self.notes.to_array()}

    def decode(self, output):
        return Notes.from_array(output["rows"])

    def onset_times(self, output):
        return Notes.from_array(output["rows"]).onset

    def refine(self, notes, wav, sr):
        return notes


@pytest.fixture
def fake_tracker():
    """``fake_tracker(notes)``: a transcription backend that always hears ``notes``."""
    return _FakeTracker
