"""Export a benchmark run's clips as a listening-test source folder.

Writes ``OUT/vocals/ITEM.wav`` and ``OUT/SYSTEM/ITEM.wav`` (24 kHz, 16-bit), the layout that
``listening_test build-stimuli`` reads. Items are the first ``max_items`` clips of the run's clip
manifest, one per song; audio comes from the output cache, so nothing is generated again. The
cache (``<results>/_cache/``) is not committed: on a fresh clone, or when it lacks an output, the
error names the ``python -m benchmark run`` that fills it.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.cache import OutputCache
from benchmark.clips import load_manifest
from benchmark.stats_files import read_stats
from hafm.audio import write
from hafm.data.musdb_io import iter_tracks

SR = 24_000


def item_name(clip_id: str) -> str:
    """A file-safe item name for a clip id such as ``bwv10.7@12.00``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", clip_id)


def export_listening_source(results: str | Path, root: str | Path, out: str | Path, max_items: int = 12) -> list[str]:
    """Write the source folder for the listening test; returns the item names."""
    results, out = Path(results), Path(out)
    stats, _ = read_stats(results)
    rerun = _rerun_command(results, root, stats)
    if not (results / "_cache" / "clips.json").exists():
        raise FileNotFoundError(f"{results}/_cache/ holds no clips or audio (not committed): run `{rerun}`")
    clips, _ = load_manifest(results / "_cache" / "clips.json")
    systems = stats["meta"]["systems"]
    chosen, seen = [], set()
    for clip in clips:
        if clip.track not in seen:
            chosen.append(clip)
            seen.add(clip.track)
        if len(chosen) == max_items:
            break
    wanted = {c.track for c in chosen}
    vocals = {t.name: t.vocals for t in iter_tracks(root, "test", sr=SR) if t.name in wanted}
    if wanted - set(vocals):
        raise FileNotFoundError(f"{root}: no test tracks {sorted(wanted - set(vocals))[:3]} (the run's corpus; "
                                "`hafm data chorales` writes the default one to data/chorales)")
    cache = OutputCache(results / "_cache" / "outputs")
    for clip in chosen:
        item = item_name(clip.clip_id)
        start = int(round(clip.start * SR))
        voice = vocals[clip.track][start : start + int(round(clip.duration * SR))]
        write(out / "vocals" / f"{item}.wav", voice, SR)
        for system, identity in systems.items():
            audio = cache.get(system, identity, clip.clip_id)
            if audio is None:
                raise FileNotFoundError(f"no cached {system} output for {clip.clip_id}: run `{rerun}`")
            write(out / system / f"{item}.wav", audio, SR)
    return [item_name(c.clip_id) for c in chosen]


def _rerun_command(results: Path, root: str | Path, stats: dict) -> str:
    """The ``python -m benchmark run`` that fills the output cache of the run behind ``stats``."""
    registered = [s for s in stats["meta"]["systems"] if s not in stats["meta"].get("outside", {})]
    folders = "".join(f" --system-dir {n}={d}" for n, d in stats["meta"].get("outside", {}).items())
    return f"python -m benchmark run --root {root} --out {results} --systems {' '.join(registered)}{folders}"
