"""Rhythmic alignment of an accompaniment with its vocal, from onset-strength envelopes.

``rhythm_alignment`` is the benchmark's ``rhythm_xcorr`` proxy (``benchmark.proxies``) and the
sweep's rhythm criterion (``hafm.sweep``): one definition, so the setting chosen on validation
songs is judged on test songs by the same number. A pure function of two mono waveforms.
"""

from __future__ import annotations

import librosa
import numpy as np

from hafm.audio import resample

HOP = 512
PROXY_SR = 22_050


def to_proxy_rate(x: np.ndarray, sr: int) -> np.ndarray:
    """``x [n]`` at ``sr`` Hz as float32 at ``PROXY_SR`` (22.05 kHz, librosa's analysis rate)."""
    return resample(np.asarray(x, dtype=np.float32), sr, PROXY_SR)


def rhythm_alignment(vocals: np.ndarray, accomp: np.ndarray, sr: int, max_lag_ms: float = 100.0) -> float:
    """Max normalised cross-correlation of the onset envelopes within +-``max_lag_ms``; inputs ``[n]``
    at ``sr`` Hz. 1: the accompaniment's onsets follow the vocal's; about 0: unrelated."""
    v = librosa.onset.onset_strength(y=to_proxy_rate(vocals, sr), sr=PROXY_SR, hop_length=HOP)
    a = librosa.onset.onset_strength(y=to_proxy_rate(accomp, sr), sr=PROXY_SR, hop_length=HOP)
    n = min(len(v), len(a))
    v, a = v[:n] - v[:n].mean(), a[:n] - a[:n].mean()
    denom = np.linalg.norm(v) * np.linalg.norm(a)
    if denom == 0:
        return 0.0
    max_lag = int(round(max_lag_ms / 1000 * PROXY_SR / HOP))
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            c = float(np.dot(v[lag:], a[: n - lag]))
        else:
            c = float(np.dot(v[: n + lag], a[-lag:]))
        best = max(best, c / denom)
    return best
