"""musicnn's log-mel front end and its 3 s patching.

16 kHz mono -> STFT (n_fft 512, hop 256 = 16 ms, periodic Hann, centred with reflect padding)
-> power -> 96 Slaney mel bands 0-8 kHz (librosa's filterbank, as musicnn 0.1.0 used)
-> float16 -> ``log10(10000 x + 1)`` -> float16 -> float32.

Upstream takes the log in float16, which overflows to inf for mel power above ~6.55 (loud bins);
we keep its float16 rounding of the input and output but take the log in float32.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from hafm.errors import AudioError

SAMPLE_RATE = 16_000  # Hz
N_FFT = 512
HOP = 256  # samples: 62.5 frames per second
N_MELS = 96
FRAME_RATE = SAMPLE_RATE / HOP  # 62.5 Hz
PATCH_FRAMES = 187  # ~3 s, the input length the models were trained on


@functools.lru_cache(maxsize=1)
def mel_filterbank() -> torch.Tensor:
    """``[96, 257]`` float32 Slaney mel filterbank (``librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)``)."""
    import librosa

    fb = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)
    return torch.from_numpy(fb.astype(np.float32))


def check_wav_16k(wav: np.ndarray, name: str = "wav") -> np.ndarray:
    """Return ``wav`` as a 1-D float32 array, or raise ``AudioError`` if it cannot be analysed."""
    wav = np.asarray(wav)
    if wav.ndim != 1:
        raise AudioError(f"{name}: expected mono samples of shape [n], got shape {wav.shape}")
    if wav.shape[0] <= N_FFT // 2:
        raise AudioError(f"{name}: {wav.shape[0]} samples is too short; need > {N_FFT // 2} at 16 kHz")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    return wav.astype(np.float32, copy=False)


def log_mel(wav_16k: np.ndarray) -> np.ndarray:
    """``wav_16k [n]`` float at 16 kHz -> musicnn log-mel ``[1 + n // 256, 96]`` float32.

    Frame ``i`` is centred on sample ``256 i`` (time ``i / 62.5`` s). Every value is exactly
    representable in float16.
    """
    x = torch.from_numpy(check_wav_16k(wav_16k).copy())
    window = torch.hann_window(N_FFT, periodic=True)
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect",
                      return_complex=True).abs() ** 2  # [257, T]
    mel = (mel_filterbank() @ spec).T.numpy()  # [T, 96]
    mel16 = mel.astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * mel16 + 1.0).astype(np.float16).astype(np.float32)


def patches(log_mel_frames: np.ndarray, hop: int = PATCH_FRAMES) -> np.ndarray:
    """``[T, 96]`` -> ``[P, 187, 96]`` patches starting every ``hop`` frames.

    As upstream, the tail that does not fill a whole patch is dropped. An input shorter than
    one patch is repeat-padded to one patch (the models' training used ``pad_short: repeat-pad``).
    """
    n = log_mel_frames.shape[0]
    if n < PATCH_FRAMES:
        reps = -(-PATCH_FRAMES // n)
        return np.tile(log_mel_frames, (reps, 1))[None, :PATCH_FRAMES]
    starts = range(0, n - PATCH_FRAMES + 1, hop)
    return np.stack([log_mel_frames[s:s + PATCH_FRAMES] for s in starts])
