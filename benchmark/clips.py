"""A fixed, seeded list of clips where the vocal is active, written once and used by every system."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hafm.fileio import atomic_write_json

FRAME_SECONDS = 0.05


@dataclass(frozen=True)
class Clip:
    """``duration`` seconds of ``track`` starting at ``start`` seconds (split: train or test)."""

    track: str
    split: str
    start: float
    duration: float

    @property
    def clip_id(self) -> str:
        return f"{self.track}@{self.start:.2f}"


def vocal_activity(vocals: np.ndarray, sr: int, activity_db: float) -> np.ndarray:
    """Boolean per 50 ms frame: RMS within ``activity_db`` dB of the loudest frame. ``vocals [n]``."""
    hop = max(1, int(round(FRAME_SECONDS * sr)))
    n_frames = len(vocals) // hop
    if n_frames == 0:
        return np.zeros(0, dtype=bool)
    frames = vocals[: n_frames * hop].astype(np.float64).reshape(n_frames, hop)
    rms_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return rms_db > rms_db.max() - activity_db


def select_clips(
    track: str,
    split: str,
    vocals: np.ndarray,
    sr: int,
    *,
    clip_seconds: float,
    count: int,
    min_active: float,
    activity_db: float,
    rng: np.random.Generator,
) -> list[Clip]:
    """Up to ``count`` non-overlapping clips of one track whose vocal is active enough.

    Candidate starts lie on a 1 s grid; a seeded shuffle picks among them so clips spread over
    the song. Returns them sorted by start.
    """
    active = vocal_activity(vocals, sr, activity_db)
    clip_frames = int(round(clip_seconds / FRAME_SECONDS))
    step = int(round(1.0 / FRAME_SECONDS))
    starts = [s for s in range(0, len(active) - clip_frames + 1, step)
              if active[s : s + clip_frames].mean() >= min_active]
    chosen: list[int] = []
    for s in rng.permutation(starts):
        if all(abs(int(s) - c) >= clip_frames for c in chosen):
            chosen.append(int(s))
        if len(chosen) == count:
            break
    return [Clip(track, split, round(s * FRAME_SECONDS, 2), clip_seconds) for s in sorted(chosen)]


def save_manifest(path: str | Path, clips: list[Clip], meta: dict) -> None:
    atomic_write_json(path, {"meta": meta, "clips": [asdict(c) for c in clips]})


def load_manifest(path: str | Path) -> tuple[list[Clip], dict]:
    data = json.loads(Path(path).read_text())
    return [Clip(**c) for c in data["clips"]], data["meta"]
