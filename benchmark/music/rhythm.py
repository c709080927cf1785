"""Rhythm between a vocal line and an accompaniment, from their note onsets.

Each function takes either part as ``Notes`` (their onsets, chords merged) or as onset times
``[m]`` in seconds (a transcriber's sharper onsets, ``benchmark.music.onsets``).

- ``onset_agreement``: ``mir_eval.onset.f_measure`` of the accompaniment's onsets against the
  vocal's within +-50 ms (mir_eval's default window). Chords count once (onsets within 30 ms
  merged). Music whose parts start notes together (homorhythm, shared beat) scores high;
  accompaniment that ignores the voice only meets its onsets by chance.
- ``tempo_agreement``: Pearson correlation, over lags of 0.1-2 s, of the autocorrelations of the
  two onset trains (each a sum of 20 ms Gaussians on the frame grid). Peaks of an onset
  autocorrelation sit at the beat period and its multiples, so two parts in the same tempo and
  metre correlate whatever their phase: the measure sees tempo, not alignment (a time shift
  leaves it unchanged, by design; ``onset_agreement`` sees the shift).
"""

from __future__ import annotations

import mir_eval
import numpy as np

from benchmark.music.notes import FRAME_S, Notes, n_frames, onsets

ONSET_WINDOW_S = 0.05
LAGS_S = (0.1, 2.0)
SMOOTH_S = 0.02


Part = Notes | np.ndarray  # notes, or onset times in seconds


def part_onsets(part: Part) -> np.ndarray:
    """Sorted onsets [m] (s) of notes (``notes.onsets``: chords merged) or of given onset times
    (merged the same way)."""
    if isinstance(part, Notes):
        return onsets(part)
    times = np.asarray(part, dtype=np.float64)
    return onsets(Notes(times, times, np.zeros_like(times), np.ones_like(times)))


def onset_agreement(vocal: Part, accomp: Part) -> float:
    """Onset F-measure in [0, 1] (0.0 when either part has no onset)."""
    ref, est = part_onsets(vocal), part_onsets(accomp)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    return float(mir_eval.onset.f_measure(ref, est, window=ONSET_WINDOW_S)[0])


def onset_envelope(times: np.ndarray, duration: float) -> np.ndarray:
    """``[T]`` sum of unit Gaussians (sd ``SMOOTH_S``) at each onset, on the 20 ms frame grid."""
    centres = (np.arange(n_frames(duration)) + 0.5) * FRAME_S
    if len(times) == 0:
        return np.zeros_like(centres)
    return np.exp(-0.5 * ((centres[None, :] - times[:, None]) / SMOOTH_S) ** 2).sum(axis=0)


def onset_autocorrelation(times: np.ndarray, duration: float) -> np.ndarray:
    """Autocorrelation of the mean-removed onset envelope at lags ``LAGS_S`` (frames), unnormalised."""
    env = onset_envelope(times, duration)
    env = env - env.mean()
    lo, hi = (int(round(s / FRAME_S)) for s in LAGS_S)
    hi = min(hi, len(env) - 1)
    return np.array([np.dot(env[lag:], env[: len(env) - lag]) for lag in range(lo, hi + 1)])


def tempo_agreement(vocal: Part, accomp: Part, duration: float) -> float:
    """Correlation in [-1, 1] of the two onset autocorrelations (0.0 when either is constant)."""
    a = onset_autocorrelation(part_onsets(vocal), duration)
    b = onset_autocorrelation(part_onsets(accomp), duration)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
