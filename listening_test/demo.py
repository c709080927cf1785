"""A small synthetic stimuli source (``ITEM/vocals.wav`` + ``ITEM/SYSTEM.wav``) for demos,
tests and the load benchmark when no benchmark output is at hand.

The "vocal" is a sine melody with vibrato; each "system" is a plucked chord accompaniment that
follows it more or less well (ground truth on the melody's chords and beats, the random baseline
in another key and tempo). It is clearly artificial: it exercises the study, not the ears.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hafm.audio import write

DEMO_SYSTEMS = ("ground_truth", "three_stage", "two_stage", "random")


def _notes(freqs: list[float], beat_s: float, seconds: float, sr: int, decay: float, vibrato: float) -> np.ndarray:
    t = np.arange(int(beat_s * sr)) / sr
    env = np.exp(-t * decay) * np.minimum(1.0, t / 0.01)
    out = [
        env * np.sin(2 * np.pi * f * t + vibrato * np.sin(2 * np.pi * 5.5 * t)) for f in freqs
    ]
    x = np.concatenate(out) if out else np.zeros(0)
    n = int(seconds * sr)
    return np.resize(x, n).astype(np.float32) if len(x) else np.zeros(n, np.float32)


def synth_item(seconds: float, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One item: vocal and every demo system's accompaniment, ``seconds`` long, mono float32."""
    root = 220.0 * 2 ** (rng.integers(0, 12) / 12)
    beat = 60.0 / rng.uniform(90, 140)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    melody = [root * 2 ** (scale[i] / 12) for i in rng.integers(0, 8, size=16)]
    chords = [root / 2 * 2 ** (s / 12) for s in (0, 7, 5, 0)]

    def accomp(freqs: list[float], beat_s: float, noise: float) -> np.ndarray:
        x = sum(_notes([f * r for f in freqs], beat_s, seconds, sr, 4.0, 0.0) for r in (1.0, 1.25, 1.5))
        return (x + noise * rng.standard_normal(len(x))).astype(np.float32)

    return {
        "vocals": _notes(melody, beat, seconds, sr, 1.5, 0.3),
        "ground_truth": accomp(chords, beat, 0.0),
        "three_stage": accomp([f * 2 ** (0.1 / 12) for f in chords], beat, 0.01),
        "two_stage": accomp(chords, beat * 1.02, 0.05),
        "random": accomp([f * 2 ** (6 / 12) for f in chords], beat * 0.77, 0.0),
    }


def write_synthetic_source(folder: str | Path, items: int = 4, seconds: float = 2.0, sr: int = 24000,
                           seed: int = 0) -> Path:
    """Write ``folder/item-XX/{vocals,ground_truth,three_stage,two_stage,random}.wav``."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for k in range(items):
        for name, x in synth_item(seconds, sr, rng).items():
            write(folder / f"item-{k:02d}" / f"{name}.wav", 0.3 * x / max(1e-6, float(np.abs(x).max())), sr)
    return folder
