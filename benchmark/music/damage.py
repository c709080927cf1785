"""Controlled damage to a true accompaniment, with the true notes of the damaged audio.

Each condition maps ``(accompaniment [n] at 24 kHz, its true Notes)`` to the damaged pair, so
every metric can be computed from the truth and from the transcription of the damaged audio.
A metric should fall with the harm it is meant to see and stay flat under the harm it is not
(harmony under a small time shift, tempo under a transposition).

- ``transpose_k``: pitch shift by k semitones (librosa phase vocoder + resampling, same length);
- ``shift_ms``: the accompaniment starts ``ms`` later (zeros in front, cropped to length);
- ``tempo_x``: slowed by the factor x from the clip start (librosa time stretch, cropped), so the
  misalignment grows through the clip;
- ``noise``: white noise of the accompaniment's RMS (true notes: none);
- ``codec_k``: encoded and decoded with k codebooks of the default codec
  (``hafm.tokenizers.codec.load_codec()``); the true notes are unchanged, the audio is not.

``another song's accompaniment`` needs a second clip and is built by the validation itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmark.music.notes import Notes

SR = 24_000
Damage = Callable[[np.ndarray, Notes], tuple[np.ndarray, Notes]]


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


def transpose(semitones: int) -> Damage:
    def damage(audio: np.ndarray, notes: Notes) -> tuple[np.ndarray, Notes]:
        import librosa

        shifted = librosa.effects.pitch_shift(audio, sr=SR, n_steps=semitones)
        return _fit_length(shifted, len(audio)), notes.transposed(semitones)
    return damage


def shift(ms: float) -> Damage:
    def damage(audio: np.ndarray, notes: Notes) -> tuple[np.ndarray, Notes]:
        lag = int(round(ms / 1000 * SR))
        return _fit_length(np.concatenate([np.zeros(lag, np.float32), audio]), len(audio)), notes.shifted(ms / 1000)
    return damage


def tempo(factor: float) -> Damage:
    def damage(audio: np.ndarray, notes: Notes) -> tuple[np.ndarray, Notes]:
        import librosa

        stretched = librosa.effects.time_stretch(audio, rate=1.0 / factor)
        return _fit_length(stretched, len(audio)), notes.stretched(factor)
    return damage


def noise(seed: int) -> Damage:
    def damage(audio: np.ndarray, notes: Notes) -> tuple[np.ndarray, Notes]:
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        white = np.random.default_rng(seed).standard_normal(len(audio)) * rms
        return white.astype(np.float32), Notes.empty()
    return damage


def codec(model, codebooks: int) -> Damage:
    """``model``: a codec with ``encode(wav [1, 1, n])`` at 24 kHz / ``decode(codes)`` (hafm.tokenizers)."""
    def damage(audio: np.ndarray, notes: Notes) -> tuple[np.ndarray, Notes]:
        import torch

        with torch.inference_mode():
            codes = model.encode(torch.from_numpy(np.ascontiguousarray(audio))[None, None])
            out = model.decode(codes[:, :codebooks])
        return _fit_length(out.reshape(-1).numpy(), len(audio)), notes
    return damage
