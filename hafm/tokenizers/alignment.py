"""The frame-alignment rule shared by the semantic (50 Hz) and acoustic (75 Hz) tokenizers.

2 semantic frames (2 x 20 ms) span exactly 3 acoustic frames (3 x 13.33 ms) = 40 ms. Every
waveform is zero-padded at the end to a whole number of 40 ms blocks before tokenization, so that
for any input length ``T_acoustic == T_semantic * 3 // 2`` exactly, and the authors' inference
rule ``int(T_sem * 75 / 50)`` gives the same number. Semantic tokens are never deduplicated.
"""

from __future__ import annotations

import math

SEMANTIC_HZ = 50
ACOUSTIC_HZ = 75
ACOUSTIC_SR = 24_000
SEMANTIC_SR = 16_000
ACOUSTIC_HOP = ACOUSTIC_SR // ACOUSTIC_HZ  # 320 samples at 24 kHz
SEMANTIC_HOP = SEMANTIC_SR // SEMANTIC_HZ  # 320 samples at 16 kHz
BLOCK_SECONDS = 0.04  # lcm of 20 ms and 13.33 ms


def block_samples(sr: int) -> int:
    """Samples in one 40 ms alignment block at sample rate ``sr`` (Hz); must be whole."""
    n = sr * 2 // SEMANTIC_HZ
    if n * SEMANTIC_HZ != sr * 2:
        raise ValueError(f"sample rate {sr} Hz has no whole number of samples per 40 ms block")
    return n


def padded_length(n_samples: int, sr: int) -> int:
    """Length (samples) after padding ``n_samples`` up to whole 40 ms blocks at ``sr`` Hz."""
    if n_samples <= 0:
        raise ValueError(f"need at least one sample, got {n_samples}")
    b = block_samples(sr)
    return math.ceil(n_samples / b) * b


def semantic_frames(n_samples: int, sr: int) -> int:
    """Number of 50 Hz semantic frames for a waveform of ``n_samples`` at ``sr`` Hz."""
    return padded_length(n_samples, sr) // block_samples(sr) * 2


def acoustic_frames(n_samples: int, sr: int) -> int:
    """Number of 75 Hz acoustic frames for a waveform of ``n_samples`` at ``sr`` Hz."""
    return padded_length(n_samples, sr) // block_samples(sr) * 3


def acoustic_from_semantic(t_semantic: int) -> int:
    """Acoustic frames matching ``t_semantic`` semantic frames: ``int(T_sem * 75 / 50)``."""
    return t_semantic * ACOUSTIC_HZ // SEMANTIC_HZ


def semantic_from_acoustic(t_acoustic: int) -> int:
    """Semantic frames matching ``t_acoustic`` acoustic frames (floor, 50/75)."""
    return t_acoustic * SEMANTIC_HZ // ACOUSTIC_HZ
