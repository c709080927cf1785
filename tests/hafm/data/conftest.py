"""Fixtures: tiny MUSDB18-HQ trees and short chorales from music21's corpus (MUSDB18 ``.stem.mp4``
trees: ``stems_tree`` in tests/conftest.py)."""

from pathlib import Path

import numpy as np
import pytest

from hafm.testing import write_track

SR = 8_000
STEM_NAMES = ("vocals", "drums", "bass", "other")


def tone(freq: float, seconds: float, sr: int = SR, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1)


def write_hq_track(folder: Path, seconds: float, sr: int = SR, base_freq: float = 220.0) -> dict:
    """Write the 4 stems and their exact-sum mixture as float wavs; return the arrays."""
    stems = {name: tone(base_freq * (i + 1), seconds, sr) for i, name in enumerate(STEM_NAMES)}
    write_track(folder.parent.parent, folder.parent.name, folder.name, stems, sr)
    return stems


@pytest.fixture
def hq_tree(tmp_path) -> Path:
    """A MUSDB18-HQ tree: 2 train tracks (1 s, 1.5 s) and 1 test track (2 s), stereo, 8 kHz."""
    root = tmp_path / "musdb18hq"
    write_hq_track(root / "train" / "A - one", 1.0)
    write_hq_track(root / "train" / "B - two", 1.5, base_freq=330.0)
    write_hq_track(root / "test" / "C - three", 2.0, base_freq=110.0)
    return root


@pytest.fixture
def hq_writer():
    """``write_hq_track(folder, seconds, sr=8000, base_freq=220.0)``, to change a track in a test."""
    return write_hq_track


@pytest.fixture(scope="session")
def short_chorales() -> dict[str, Path]:
    """Two short plain SATB chorales (about 33 s each) from music21's corpus.

    bwv139.6 has a metronome mark and a pickup bar; bwv101.7 has no tempo, ties and 24 fermatas.
    """
    from hafm.data.chorales import chorale_paths

    wanted = {"bwv139.6", "bwv101.7"}
    found = {p.name.rsplit(".", 1)[0]: p for p in chorale_paths() if p.name.rsplit(".", 1)[0] in wanted}
    assert set(found) == wanted, f"music21 corpus lacks {wanted - set(found)}"
    return found
