"""Clips of the rendered chorale corpus with their true notes (``notes.json``), for validation.

Reads the MUSDB18-HQ tree directly (``<root>/<split>/<track>/{vocals,bass,drums,other}.wav`` at
24 kHz mono plus ``notes.json``). Clips are chosen like the benchmark's (``benchmark.clips``:
10 s where the vocal is active, seeded); ``part`` picks the validation songs of the training
split (``hafm.data.splits``) where thresholds are fitted, or every test song for the reports.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmark.clips import select_clips
from benchmark.music.notes import ACCOMPANIMENT_STEMS, Notes, true_notes
from hafm.data.splits import select

SR = 24_000


@dataclass(frozen=True)
class CorpusClip:
    """``duration`` seconds of the track folder ``track_dir`` from ``start`` (seconds)."""

    track_dir: Path
    start: float
    duration: float

    @property
    def track(self) -> str:
        return self.track_dir.name

    @property
    def clip_id(self) -> str:
        return f"{self.track}@{self.start:.2f}"


def load_stems(track_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(vocals [n], accompaniment [n])`` float32 at 24 kHz; accompaniment = bass + drums + other."""
    def read(name: str) -> np.ndarray:
        path = track_dir / f"{name}.wav"
        if not path.exists():
            return np.zeros(0, dtype=np.float32)
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
        if sr != SR:
            raise ValueError(f"{path}: {sr} Hz, expected {SR}")
        return audio.mean(axis=1)

    vocals = read("vocals")
    accomp = np.zeros_like(vocals)
    for stem in ACCOMPANIMENT_STEMS:
        x = read(stem)
        accomp[: len(x)] += x[: len(accomp)]
    return vocals, accomp


def corpus_clips(root: str | Path, split: str, part: str = "all", *, per_song: int = 2, seconds: float = 10.0,
                 seed: int = 0, max_songs: int = 0) -> list[CorpusClip]:
    """Clips of ``split`` (train/test); ``part``: ``validation``, ``fit`` or ``all`` (see hafm.data.splits);
    ``max_songs``: only the first N songs of the part in name order (0: all), for a quick look."""
    folders = sorted(p for p in (Path(root) / split).iterdir() if (p / "notes.json").exists())
    chosen = {t.name for t in select([types.SimpleNamespace(name=p.name) for p in folders], part)}
    folders = [f for f in folders if f.name in chosen]
    rng = np.random.default_rng(seed)
    clips = []
    for folder in folders[:max_songs or None]:
        vocals, _ = load_stems(folder)
        for c in select_clips(folder.name, split, vocals, SR, clip_seconds=seconds, count=per_song,
                              min_active=0.5, activity_db=30.0, rng=rng):
            clips.append(CorpusClip(folder, c.start, c.duration))
    return clips


def clip_audio(clip: CorpusClip) -> tuple[np.ndarray, np.ndarray]:
    """``(vocals [n], accompaniment [n])`` of the clip at 24 kHz."""
    vocals, accomp = load_stems(clip.track_dir)
    a = int(round(clip.start * SR))
    b = a + int(round(clip.duration * SR))
    return vocals[a:b], accomp[a:b]


def clip_timbres(clip: CorpusClip) -> tuple[str, str]:
    """``(vocal General MIDI program, accompaniment patch set)`` of the clip's track from the
    corpus' ``manifest.json`` (``"unknown"`` for either where the manifest does not say)."""
    path = clip.track_dir.parent.parent / "manifest.json"
    track = json.loads(path.read_text()).get("tracks", {}).get(clip.track, {}) if path.exists() else {}
    patches = track.get("patches") or {}
    return str(patches.get("vocals", "unknown")), str(patches.get("set", "unknown"))


def clip_true_notes(clip: CorpusClip) -> tuple[Notes, Notes]:
    """``(vocal notes, accompaniment notes)`` sounding in the clip, times from its start."""
    vocal = true_notes(clip.track_dir, ("vocals",)).window(clip.start, clip.duration)
    accomp = true_notes(clip.track_dir, ACCOMPANIMENT_STEMS).window(clip.start, clip.duration)
    return vocal, accomp
