"""The benchmark's configuration: one dataclass, saved with every result (provenance.json)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from benchmark.registry import names


@dataclass
class BenchmarkConfig:
    """Clips, systems, embeddings and statistics of one benchmark run.

    Clip lengths are in seconds; ``min_vocal_active`` is the fraction of 50 ms frames in a clip
    whose vocal RMS is within ``activity_db`` dB of the track's loudest frame.
    """

    clip_seconds: float = 10.0
    clips_per_song: int = 2
    min_vocal_active: float = 0.5
    activity_db: float = 30.0
    reference_clips_per_song: int = 2  # training-split clips forming the FAD reference set
    max_reference_songs: int = 120
    seed: int = 0
    systems: tuple[str, ...] = field(default_factory=names)  # every system of benchmark/registry.py
    backends: tuple[str, ...] = ("musicnn", "musicnn_vgg")
    targets: tuple[str, ...] = ("accompaniment", "mix")
    bootstrap: int = 1000
    generation_seed: int = 0
    checkpoints: str = ""  # empty: the cascade shipped with the package
    max_clips: int = 0  # 0: all clips (a quick look sets e.g. 12)
    workers: int = 2  # processes generating the cascade systems (1 thread each)
    batch: int = 8  # clips generated together by one worker (one length); results do not depend on it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_benchmark_config(path: str | Path | None, **overrides: Any) -> BenchmarkConfig:
    """Defaults, then a TOML file (flat keys), then keyword overrides (None values ignored)."""
    values: dict[str, Any] = {}
    if path:
        values.update(tomllib.loads(Path(path).read_text()))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(BenchmarkConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown benchmark config keys: {unknown}")
    for key in ("systems", "backends", "targets"):
        if key in values:
            values[key] = tuple(values[key])
    bad = sorted(set(values.get("systems", ())) - set(names()))
    if bad:
        raise ValueError(f"unknown systems {bad}; known: {list(names())}")
    return BenchmarkConfig(**values)
