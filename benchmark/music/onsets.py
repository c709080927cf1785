"""Onset times of a transcribed part, sharper than its decoded notes' onsets.

The rhythm metrics compare *when* the voice and the accompaniment start notes, so their onsets
need to be right to well within the 50 ms window of ``rhythm.onset_agreement``. Two sources beat
the decoded notes on validation songs of the training split (``benchmark.music.fit``; onset
F-measure against the true onsets, 50 ms):

- **vocal**: an f0 tracker marks a note where the pitch settles, a latency that depends on the
  voice's attack (about 35 ms early to 60 ms late across the corpus' three General MIDI voices
  once one lag is subtracted). The audio's own attacks are sharper: ``attack_times`` picks peaks
  of the SuperFlux onset strength (spectral flux after a maximum filter over frequency, Boeck and
  Widmer 2013, which ignores vibrato) at a 10 ms hop, and ``snap_onsets`` moves each note's onset
  to the nearest attack within a window. The f0 notes decide *whether* there is a note (pitch
  changes, voicing), the attacks decide *when* (mean F over the three voices 0.70 -> 0.86).
- **accompaniment**: basic-pitch's onset posteriorgram, maximum over pitch, has one sharp peak
  per chord attack; ``posteriorgram_onsets`` takes its peaks above a threshold. Note decoding
  drops or splits onsets of sustained timbres (organ, brass) where the note posterior is fuzzy
  (mean F over the six accompaniment timbres 0.83 -> 0.96).

Times are seconds from the start of the audio; every function returns sorted onsets ``[m]``.
"""

from __future__ import annotations

import numpy as np

from benchmark.music.notes import FRAME_S, Notes

ATTACK_HOP_S = 0.01  # onset-strength hop of ``attack_times``, seconds
ATTACK_WAIT_S = 0.05  # shortest gap between two attacks, seconds


def attack_strength(wav: np.ndarray, sr: int) -> np.ndarray:
    """SuperFlux onset strength ``[T]`` of mono audio ``wav [n]`` at ``sr`` Hz, one value per
    ``ATTACK_HOP_S``, scaled to a maximum of 1 (empty for audio under 0.1 s)."""
    import librosa

    if len(wav) < sr // 10:
        return np.zeros(0)
    hop = max(1, int(round(ATTACK_HOP_S * sr)))
    env = librosa.onset.onset_strength(y=np.asarray(wav, dtype=np.float32), sr=sr, hop_length=hop,
                                       max_size=3, lag=2)
    return env / (env.max() + 1e-9)


def pick_attacks(strength: np.ndarray, delta: float, lag_s: float) -> np.ndarray:
    """Peaks of an ``attack_strength`` envelope (librosa's peak picking, peaks ``ATTACK_WAIT_S``
    apart) that rise ``delta`` above their local mean, ``lag_s`` seconds earlier."""
    import librosa

    if len(strength) < 5:
        return np.zeros(0)
    rate = int(round(1 / ATTACK_HOP_S))  # frames per second: librosa's default windows in seconds
    frames = librosa.onset.onset_detect(onset_envelope=strength, sr=rate, hop_length=1, delta=delta,
                                        wait=max(1, int(round(ATTACK_WAIT_S / ATTACK_HOP_S))), normalize=False,
                                        units="frames")
    return np.maximum(frames * ATTACK_HOP_S - lag_s, 0.0)


def attack_times(wav: np.ndarray, sr: int, delta: float, lag_s: float) -> np.ndarray:
    """Attacks of mono audio ``wav [n]`` at ``sr`` Hz: SuperFlux onset-strength peaks.

    ``delta``: how far (in units of the clip's largest onset strength) a peak must rise above its
    local mean; ``lag_s``: seconds subtracted from every peak (the flux peaks after the attack).
    """
    return pick_attacks(attack_strength(wav, sr), delta, lag_s)


def snap_onsets(notes: Notes, attacks: np.ndarray, within_s: float) -> Notes:
    """``notes`` with each onset moved to the nearest of ``attacks`` (seconds) within ``within_s``;
    an onset with no attack that near stays. Offsets stay, at least one frame after the onset."""
    if len(notes) == 0 or len(attacks) == 0:
        return notes
    attacks = np.sort(attacks)
    nearest = attacks[np.argmin(np.abs(attacks[None, :] - notes.onset[:, None]), axis=1)]
    onset = np.where(np.abs(nearest - notes.onset) <= within_s, nearest, notes.onset)
    offset = np.maximum(notes.offset, onset + FRAME_S)
    return Notes.from_array(np.stack([onset, offset, notes.pitch, notes.confidence], axis=1))


def posteriorgram_onsets(onset: np.ndarray, times: np.ndarray, threshold: float, lag_s: float) -> np.ndarray:
    """Onsets from an onset posteriorgram ``[T, pitches]`` with frame times ``times [T]`` (s).

    Peaks of the posterior's maximum over pitch: frames that are the maximum of +-2 frames and at
    least ``threshold``, the first of any within 3 frames (35 ms at basic-pitch's 86 frames/s),
    moved ``lag_s`` earlier (the model's onset latency).
    """
    from scipy.ndimage import maximum_filter1d

    strength = np.asarray(onset, dtype=np.float32).max(axis=1) if len(onset) else np.zeros(0, np.float32)
    peaks = np.flatnonzero((strength == maximum_filter1d(strength, size=5, mode="nearest")) & (strength >= threshold))
    kept: list[int] = []
    for p in peaks:
        if not kept or p - kept[-1] >= 3:
            kept.append(int(p))
    return np.maximum(np.asarray(times, dtype=np.float64)[kept] - lag_s, 0.0)
