import numpy as np
import pytest

SR = 24_000


def notes(pitches, beat_s, sr=SR, seconds=6.0, amp=0.3):
    """A melody of decaying sine notes, one per beat, cycling through ``pitches`` (MIDI)."""
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    step = int(beat_s * sr)
    t = np.arange(step) / sr
    for i, start in enumerate(range(0, n - step, step)):
        f = 440.0 * 2 ** ((pitches[i % len(pitches)] - 69) / 12)
        out[start:start + step] += (amp * np.sin(2 * np.pi * f * t) * np.exp(-t / 0.15)).astype(np.float32)
    return out


@pytest.fixture
def song():
    """Vocal in C major on a 0.5 s beat and a matching accompaniment (same beat, same chords)."""
    vocals = notes([72, 76, 79, 76], 0.5)
    accomp = notes([48, 52, 55, 52], 0.5) + notes([60, 64, 67, 64], 0.5, amp=0.2)
    return vocals, accomp


@pytest.fixture
def other_song():
    """An unrelated accompaniment: F# major, 0.37 s beat."""
    return notes([54, 58, 61, 58], 0.37) + notes([66, 70, 73, 70], 0.37, amp=0.2)


@pytest.fixture
def tiny_musdb(tmp_path):
    """A MUSDB18-HQ tree: 4 train + 4 test songs of 12 s at 24 kHz mono, melodies on a beat."""
    import soundfile as sf

    root = tmp_path / "musdb"
    for split, base in (("train", 0), ("test", 4)):
        for i in range(4):
            folder = root / split / f"song{base + i}"
            folder.mkdir(parents=True)
            shift = base + i
            vocals = notes([72 + shift, 76 + shift, 79 + shift], 0.4 + 0.05 * i, seconds=12.0)
            bass = notes([48 + shift, 55 + shift], 0.4 + 0.05 * i, seconds=12.0)
            other = 0.5 * notes([60 + shift, 64 + shift], 0.8 + 0.1 * i, seconds=12.0)
            drums = np.zeros_like(bass)
            for name, x in (("vocals", vocals), ("bass", bass), ("other", other), ("drums", drums)):
                sf.write(folder / f"{name}.wav", x, SR, subtype="FLOAT")
            sf.write(folder / "mixture.wav", vocals + bass + other + drums, SR, subtype="FLOAT")
    return root
