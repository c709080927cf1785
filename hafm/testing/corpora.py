"""Synthetic songs written in the layouts the corpus reader (``hafm.data.musdb_io``) takes:
MUSDB18-HQ (a folder of wavs per song) and MUSDB18 (one ``.stem.mp4`` per song, AAC via ffmpeg)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

SOURCES = ("vocals", "drums", "bass", "other")
STEM_MP4_ORDER = ("drums", "bass", "other", "vocals")  # MUSDB18's streams after the mixture


def melody(pitches: Sequence[int], beat_s: float, sr: int, seconds: float, amp: float = 0.3) -> np.ndarray:
    """``[n]`` float32: decaying sine notes, one per beat, cycling through ``pitches`` (MIDI)."""
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    step = int(beat_s * sr)
    t = np.arange(step) / sr
    for i, start in enumerate(range(0, n - step, step)):
        f = 440.0 * 2 ** ((pitches[i % len(pitches)] - 69) / 12)
        out[start:start + step] += (amp * np.sin(2 * np.pi * f * t) * np.exp(-t / 0.15)).astype(np.float32)
    return out


def write_track(root: str | Path, subset: str, name: str, stems: Mapping[str, np.ndarray], sr: int,
                stem_mp4: bool = False) -> Path:
    """Write one song: ``root/<subset>/<name>/{vocals,drums,bass,other,mixture}.wav`` (float wavs),
    or with ``stem_mp4`` ``root/<subset>/<name>.stem.mp4``. ``stems``: sources ``[n]`` (mono) or
    ``[n, 2]`` by name; a missing source is silent; the mixture is their sum. Returns the path."""
    shape = next(iter(stems.values())).shape
    full = {s: np.asarray(stems.get(s, np.zeros(shape)), dtype=np.float32) for s in SOURCES}
    mixture = sum(full.values())
    folder = Path(root) / subset
    if stem_mp4:
        return _write_stem_mp4(folder / f"{name}.stem.mp4", mixture, full, sr)
    import soundfile as sf

    (folder / name).mkdir(parents=True, exist_ok=True)
    for source, wav in {**full, "mixture": mixture}.items():
        sf.write(folder / name / f"{source}.wav", wav, sr, subtype="FLOAT")
    return folder / name


def _write_stem_mp4(path: Path, mixture: np.ndarray, sources: dict[str, np.ndarray], sr: int) -> Path:
    import stempeg

    def stereo(wav: np.ndarray) -> np.ndarray:  # MUSDB18's streams are stereo
        return np.stack([wav, wav], axis=1) if wav.ndim == 1 else wav

    streams = np.stack([stereo(mixture)] + [stereo(sources[s]) for s in STEM_MP4_ORDER])
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh writer each time: write_stems' default writer is one shared instance that keeps the
    # output rate of its first call, so a 44.1 kHz tree written after a 24 kHz one came out at 24 kHz.
    stempeg.write_stems(str(path), streams, sample_rate=sr, writer=stempeg.StreamsWriter(output_sample_rate=sr))
    return path
