"""A run's statistics files in ``<out>/stats/``: small, committed beside the tables they make.

``fad_stats.json`` (FAD rows, per-song FAD, paired tests, noise floors, the run's metadata) and
``per_clip.csv`` (proxies and music metrics per system x clip) are everything ``benchmark tables``
reads, so tables rebuild on a fresh clone; the audio cache ``<out>/_cache/`` is not committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hafm.fileio import atomic_write_json, atomic_write_text

FAD_STATS = "fad_stats.json"
PER_CLIP = "per_clip.csv"


def stats_dir(out: str | Path) -> Path:
    """The statistics folder of the results folder ``out``."""
    return Path(out) / "stats"


def have_stats(out: str | Path) -> bool:
    """Whether ``out`` holds both statistics files of a finished run."""
    return all((stats_dir(out) / name).exists() for name in (FAD_STATS, PER_CLIP))


def write_per_clip(out: str | Path, frame: pd.DataFrame) -> None:
    atomic_write_text(stats_dir(out) / PER_CLIP, frame.to_csv(index=False, float_format="%.6g"))


def write_fad_stats(out: str | Path, stats: dict) -> None:
    atomic_write_json(stats_dir(out) / FAD_STATS, stats)


def read_stats(out: str | Path) -> tuple[dict, pd.DataFrame]:
    """(``fad_stats.json``, ``per_clip.csv``) of ``out``; a missing file names the command that makes it."""
    folder = stats_dir(out)
    for name in (FAD_STATS, PER_CLIP):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name} is missing: run `python -m benchmark run --out {out}` first")
    return json.loads((folder / FAD_STATS).read_text()), pd.read_csv(folder / PER_CLIP)
