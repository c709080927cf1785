"""Outside systems: the clips an outside model generates from, and the folders it answers with.

``export_clips`` writes the benchmark's clip vocals as ``OUT/<clip_id>.wav`` (mono, 24 kHz, float)
and ``OUT/manifest.json`` (clip id, file, song, start and length in seconds, sample rate), from the
same clip selection as ``python -m benchmark run`` (``<results>/_cache/clips.json``, recomputed
from the corpus when absent or stale). The outside model writes ``DIR/<clip_id>.wav`` (its
accompaniment, any rate and channels, at least the clip's length) and ``--system-dir NAME=DIR``
scores it (``benchmark.systems.FolderSystem``).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.config import BenchmarkConfig
from benchmark.runner import clip_manifest, cut, load_split
from benchmark.systems import SR
from hafm.audio import write
from hafm.fileio import atomic_write_json


def export_clips(cfg: BenchmarkConfig, root: str | Path, results: str | Path, out: str | Path) -> list[dict]:
    """Write every clip's vocals and the manifest to ``out``; returns the manifest's clip entries.

    ``cfg`` gives the selection (seed, clip length, clips per song, ``max_clips``) as in a run.
    """
    out = Path(out)
    test = load_split(root, "test")
    clips = clip_manifest(cfg, test, Path(results) / "_cache" / "clips.json", "test", cfg.clips_per_song)
    if cfg.max_clips:
        clips = clips[: cfg.max_clips]
    entries = []
    for clip in clips:
        if "/" in clip.clip_id:
            raise ValueError(f"clip id {clip.clip_id!r} cannot be a file name")
        vocals = cut(test[clip.track], clip).vocals
        write(out / f"{clip.clip_id}.wav", vocals, SR, subtype="FLOAT")
        entries.append({"clip_id": clip.clip_id, "file": f"{clip.clip_id}.wav", "song": clip.track,
                        "start": clip.start, "seconds": clip.duration, "samples": len(vocals)})
    atomic_write_json(out / "manifest.json", {
        "sample_rate": SR, "channels": 1, "clip_seconds": cfg.clip_seconds, "corpus": str(root),
        "expects": "DIR/<clip_id>.wav: the accompaniment of each clip, any sample rate and channel count, "
                   "at least the clip's length; score with `python -m benchmark run --system-dir NAME=DIR`",
        "clips": entries})
    return entries


def parse_system_dirs(values: list[str] | None) -> dict[str, Path]:
    """``["NAME=DIR", ...]`` -> {NAME: DIR}; each name an identifier, given once (and not a shipped
    system's: ``benchmark.registry.folder_spec``)."""
    systems: dict[str, Path] = {}
    for value in values or []:
        name, sep, folder = value.partition("=")
        if not sep or not name.isidentifier() or not folder:
            raise ValueError(f"--system-dir wants NAME=DIR with NAME a plain identifier, got {value!r}")
        if name in systems:
            raise ValueError(f"--system-dir: system name {name!r} given twice")
        systems[name] = Path(folder)
    return systems
