"""Notes as arrays, the corpus' true notes (``notes.json``), and their frame grid.

A ``Notes`` holds n notes as parallel float arrays: onset and offset in seconds, pitch as a MIDI
number (60 = C4), and a confidence in [0, 1] (1 for true notes; the transcriber's amplitude
otherwise). Metrics read notes on a common frame grid (``FRAME_S`` = 20 ms), so a note counts
for as long as it sounds.

The transformations (``shifted``, ``transposed``, ``stretched``, ``window``) give the true notes
of a damaged accompaniment, so the validation can compute every metric from the truth as well
as from the transcription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FRAME_S = 0.02  # frame grid of the metrics, seconds
ACCOMPANIMENT_STEMS = ("bass", "other", "drums")


@dataclass(frozen=True)
class Notes:
    """n notes: ``onset``/``offset`` [n] seconds, ``pitch`` [n] MIDI, ``confidence`` [n] in [0, 1]."""

    onset: np.ndarray
    offset: np.ndarray
    pitch: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.onset)

    @classmethod
    def empty(cls) -> Notes:
        return cls.from_array(np.zeros((0, 4)))

    @classmethod
    def from_array(cls, rows: np.ndarray) -> Notes:
        """From ``[n, 4]`` rows (onset s, offset s, MIDI pitch, confidence), sorted by onset."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        rows = rows[np.lexsort((rows[:, 2], rows[:, 0]))]
        return cls(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy(), rows[:, 3].copy())

    def to_array(self) -> np.ndarray:
        """``[n, 4]`` float32 rows (onset, offset, pitch, confidence): what the cache stores."""
        return np.stack([self.onset, self.offset, self.pitch, self.confidence], axis=1).astype(np.float32)

    def shifted(self, seconds: float) -> Notes:
        """Every note ``seconds`` later (negative: earlier)."""
        return Notes(self.onset + seconds, self.offset + seconds, self.pitch, self.confidence)

    def earlier(self, seconds: float) -> Notes:
        """Every note ``seconds`` earlier (a latency removed), cut at time 0: nothing starts before
        the audio does."""
        return self.shifted(-seconds).window(0.0, np.inf)

    def transposed(self, semitones: int) -> Notes:
        return Notes(self.onset, self.offset, self.pitch + semitones, self.confidence)

    def stretched(self, factor: float) -> Notes:
        """Times multiplied by ``factor`` (> 1: slower): the notes of a tempo warp."""
        return Notes(self.onset * factor, self.offset * factor, self.pitch, self.confidence)

    def window(self, start: float, duration: float) -> Notes:
        """The notes sounding in ``[start, start + duration)``, clipped to it, times from ``start``."""
        keep = (self.offset > start) & (self.onset < start + duration)
        onset = np.clip(self.onset[keep] - start, 0.0, duration)
        offset = np.clip(self.offset[keep] - start, 0.0, duration)
        return Notes(onset, offset, self.pitch[keep], self.confidence[keep])


def true_notes(track_dir: str | Path, stems: tuple[str, ...]) -> Notes:
    """The notes of ``stems`` (e.g. ``("vocals",)`` or ``ACCOMPANIMENT_STEMS``) from a track's notes.json."""
    data = json.loads((Path(track_dir) / "notes.json").read_text())
    rows = [(n["onset_s"], n["offset_s"], n["pitch"], 1.0) for n in data["notes"] if n["stem"] in stems]
    return Notes.from_array(np.array(rows, dtype=np.float64))


def n_frames(duration: float) -> int:
    return int(np.ceil(duration / FRAME_S - 1e-9))


def pianoroll(notes: Notes, duration: float) -> np.ndarray:
    """``[128, T]`` float: the largest confidence of the notes of each MIDI pitch sounding in each frame.

    A note sounds in frame t when its span covers the frame's centre ``(t + 0.5) * FRAME_S``.
    """
    roll = np.zeros((128, n_frames(duration)))
    centres = (np.arange(roll.shape[1]) + 0.5) * FRAME_S
    for on, off, p, c in zip(notes.onset, notes.offset, notes.pitch, notes.confidence):
        pitch = int(round(p))
        if not 0 <= pitch < 128:
            continue
        frames = (centres >= on) & (centres < off)
        roll[pitch, frames] = np.maximum(roll[pitch, frames], c)
    return roll


def melody(notes: Notes, duration: float) -> np.ndarray:
    """``[T]`` MIDI pitch of the (monophonic) line per frame, NaN where it is silent.

    Where notes overlap, the latest onset wins (a new note cuts the previous one's release).
    """
    line = np.full(n_frames(duration), np.nan)
    centres = (np.arange(len(line)) + 0.5) * FRAME_S
    for on, off, p in zip(notes.onset, notes.offset, notes.pitch):  # sorted by onset
        line[(centres >= on) & (centres < off)] = np.round(p)
    return line


def onsets(notes: Notes, merge_s: float = 0.03) -> np.ndarray:
    """Sorted onset times [m] in seconds, onsets closer than ``merge_s`` merged into their first.

    Chords start several notes at once; an onset F-measure matches one-to-one, so a chord must be
    one onset.
    """
    times = np.sort(notes.onset)
    if len(times) == 0:
        return times
    kept = [times[0]]
    for t in times[1:]:
        if t - kept[-1] >= merge_s:
            kept.append(t)
    return np.asarray(kept)
