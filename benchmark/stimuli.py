"""Export a benchmark run's clips as a listening-test source folder.

Writes ``OUT/vocals/ITEM.wav`` and ``OUT/SYSTEM/ITEM.wav`` (24 kHz, 16-bit), the layout that
``listening_test build-stimuli`` reads. Items are the first ``max_items`` clips of the run's clip
manifest, one per song; audio comes from the output cache, so nothing is generated again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from benchmark.cache import OutputCache
from benchmark.clips import load_manifest
from hafm.audio import save
from hafm.data.musdb_io import iter_tracks

SR = 24_000


def item_name(clip_id: str) -> str:
    """A file-safe item name for a clip id such as ``bwv10.7@12.00``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", clip_id)


def export_stimuli(results: str | Path, root: str | Path, out: str | Path, max_items: int = 12) -> list[str]:
    """Write the source folder for the listening test; returns the item names."""
    import torch

    results, out = Path(results), Path(out)
    clips, _ = load_manifest(results / "_cache" / "clips.json")
    systems = json.loads((results / "_cache" / "fad_stats.json").read_text())["meta"]["systems"]
    chosen, seen = [], set()
    for clip in clips:
        if clip.track not in seen:
            chosen.append(clip)
            seen.add(clip.track)
        if len(chosen) == max_items:
            break
    wanted = {c.track for c in chosen}
    vocals = {t.name: t.vocals for t in iter_tracks(root, "test", sr=SR) if t.name in wanted}
    cache = OutputCache(results / "_cache" / "outputs")
    for clip in chosen:
        item = item_name(clip.clip_id)
        start = int(round(clip.start * SR))
        voice = vocals[clip.track][start : start + int(round(clip.duration * SR))]
        save(out / "vocals" / f"{item}.wav", torch.from_numpy(np.ascontiguousarray(voice))[None], SR)
        for system, identity in systems.items():
            audio = cache.get(system, identity, clip.clip_id)
            if audio is None:
                raise FileNotFoundError(f"no cached {system} output for {clip.clip_id}: run the benchmark first")
            save(out / system / f"{item}.wav", torch.from_numpy(audio)[None], SR)
    return [item_name(c.clip_id) for c in chosen]
