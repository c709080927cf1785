"""Harmony between a vocal line and an accompaniment, from their notes.

- ``consonance``: while both sound, the share of the accompaniment's notes that form a
  consonant interval with the sung pitch. Common-practice theory counts unison/octave, thirds,
  fourths/fifths and sixths as consonant (interval mod 12 in {0, 3, 4, 5, 7, 8, 9}) and seconds,
  sevenths and the tritone as dissonant ({1, 2, 6, 10, 11}). The fourth counts as consonant
  because the accompaniment lies below the voice (only a fourth above the *bass* is treated as a
  dissonance in strict counterpoint). Notes are weighted by their confidence. Pitch classes drawn
  at random score 7/12 = 0.583.
- ``chord_tone_share``: while both sound, the share of frames whose sung pitch class is one of
  the accompaniment's sounding pitch classes: the melody note belongs to the chord. Chorale
  melodies are chord tones except on passing notes and suspensions.
- ``key_agreement``: how alike the two parts' sense of key is. Each part's duration-weighted
  pitch-class profile is correlated with the 24 rotated Krumhansl-Kessler probe-tone profiles
  (``key_strengths``: the Krumhansl-Schmuckler key finder's scores, one per major and minor key);
  the agreement is the Pearson correlation of the two 24-key score vectors, clipped at 0. Two
  parts in one key score near 1; closely related keys (a fifth apart, relative major/minor)
  still correlate, because the probe-tone profiles of related keys do (Krumhansl and Kessler
  1982: their correlations trace the circle of fifths); distant keys (a tritone) score 0. A
  graded score instead of the arg-max key's ``mir_eval.key.weighted_score``: a 10 s melody often
  sits between two related keys, and a wrong transcribed note then flipped the arg-max and the
  score by 0.5-1 (on validation songs, the transcribed-vs-true correlation rose from 0.93 to 0.99).

All take ``Notes`` and a duration in seconds; each returns a float in [0, 1] (NaN only where
stated).
"""

from __future__ import annotations

import numpy as np

from benchmark.music.notes import Notes, melody, pianoroll

CONSONANT = np.array([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0], dtype=float)  # by interval mod 12
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl and Kessler (1982) probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _joint_frames(vocal: Notes, accomp: Notes, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Sung MIDI pitch ``[F]`` and accompaniment roll ``[128, F]`` over the F frames where both sound."""
    line = melody(vocal, duration)
    roll = pianoroll(accomp, duration)
    both = ~np.isnan(line) & (roll.max(axis=0) > 0)
    return line[both].astype(int), roll[:, both]


def consonance(vocal: Notes, accomp: Notes, duration: float) -> float:
    """Mean over joint frames of the confidence-weighted consonant share of accompaniment notes.

    0.0 when the two never sound together (an accompaniment that is silent under the voice has
    no harmony with it).
    """
    sung, roll = _joint_frames(vocal, accomp, duration)
    if len(sung) == 0:
        return 0.0
    intervals = (sung[None, :] - np.arange(128)[:, None]) % 12  # [128, F]
    weights = CONSONANT[intervals]
    return float(np.mean((roll * weights).sum(axis=0) / roll.sum(axis=0)))


def chord_tone_share(vocal: Notes, accomp: Notes, duration: float) -> float:
    """Share of joint frames whose sung pitch class sounds in the accompaniment (0.0 if none)."""
    sung, roll = _joint_frames(vocal, accomp, duration)
    if len(sung) == 0:
        return 0.0
    classes = np.zeros((12, roll.shape[1]))
    for pc in range(12):
        classes[pc] = roll[pc::12].max(axis=0)
    return float(np.mean(classes[sung % 12, np.arange(len(sung))] > 0))


def pitch_class_profile(notes: Notes) -> np.ndarray:
    """``[12]`` duration x confidence weight per pitch class (C first)."""
    profile = np.zeros(12)
    length = np.clip(notes.offset - notes.onset, 0.0, None) * notes.confidence
    np.add.at(profile, np.round(notes.pitch).astype(int) % 12, length)
    return profile


KEY_NAMES = tuple(f"{PITCH_NAMES[tonic]} {mode}" for mode in ("major", "minor") for tonic in range(12))
KEY_TEMPLATES = np.array([np.roll(t, tonic) for t in (KK_MAJOR, KK_MINOR) for tonic in range(12)])  # [24, 12]


def key_strengths(notes: Notes) -> np.ndarray | None:
    """``[24]`` Pearson correlation of the notes' pitch-class profile with each key's rotated
    Krumhansl-Kessler profile (``KEY_NAMES`` order: C major ... B major, C minor ... B minor);
    None for no notes or a flat profile."""
    profile = pitch_class_profile(notes)
    if profile.sum() == 0 or np.ptp(profile) == 0:
        return None
    return np.corrcoef(profile[None, :], KEY_TEMPLATES)[0, 1:]


def estimate_key(notes: Notes) -> str | None:
    """Krumhansl-Schmuckler key (e.g. ``"Eb major"``): the key of the largest ``key_strengths``;
    None for no notes or a flat profile."""
    strengths = key_strengths(notes)
    return None if strengths is None else KEY_NAMES[int(np.argmax(strengths))]


def key_agreement(vocal: Notes, accomp: Notes) -> float:
    """Correlation of the two parts' ``key_strengths``, clipped to [0, 1] (0.0 if either has none)."""
    a, b = key_strengths(vocal), key_strengths(accomp)
    if a is None or b is None:
        return 0.0
    return float(max(0.0, np.corrcoef(a, b)[0, 1]))
