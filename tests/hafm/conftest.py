"""Fixtures shared by the hafm tests: a MUSDB18 (``.stem.mp4``) tree for every corpus reader."""

from pathlib import Path

import numpy as np
import pytest


def _chord_stems(freq: float, seconds: float, sr: int) -> list[np.ndarray]:
    """Four stereo ``[n, 2]`` float32 stems: harmonics 1-4 of ``freq``, one per stem."""
    t = np.arange(int(seconds * sr)) / sr
    waves = [(0.1 * np.sin(2 * np.pi * freq * (i + 1) * t)).astype(np.float32) for i in range(4)]
    return [np.stack([w, w], axis=1) for w in waves]


@pytest.fixture
def stems_tree(tmp_path) -> Path:
    """A MUSDB18 tree with one 2 s ``.stem.mp4`` per subset (AAC via ffmpeg, 44.1 kHz stereo)."""
    stempeg = pytest.importorskip("stempeg")
    root = tmp_path / "musdb18"
    for subset, freq in (("train", 220.0), ("test", 110.0)):
        (root / subset).mkdir(parents=True)
        stems = _chord_stems(freq, 2.0, 44_100)
        order = [stems[0] + stems[1] + stems[2] + stems[3]] + [stems[1], stems[2], stems[3], stems[0]]
        # stream order of MUSDB18: mixture, drums, bass, other, vocals
        stempeg.write_stems(str(root / subset / f"song {subset}.stem.mp4"), np.stack(order), sample_rate=44_100)
    return root
