"""Per-clip metrics grouped by the vocal's General MIDI patch of the chorale corpus.

    python -m benchmark.by_vocal_patch --per-clip results/proxies.csv --root data/chorales \\
        --systems ground_truth three_stage --out results/by_vocal_patch.md

The chorale renderer draws each song's soprano patch from a seed (52 Choir Aahs, 53 Voice Oohs,
54 Synth Voice; ``manifest.json``, ``patches.vocals``). The cascade follows the vocal's rhythm far
better on some patches than on others, and the test and validation splits hold them in different
shares, so a mean over a split mixes timbre with quality. Works on any per-clip table with
``track``, ``system`` and metric columns (the benchmark's ``proxies.csv``, ``stats/per_clip.csv``,
``compare_checkpoints``' ``per_clip.csv``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hafm.fileio import atomic_write_text
from hafm.tables import markdown_table

GM_VOICES = {52: "Choir Aahs", 53: "Voice Oohs", 54: "Synth Voice"}


def vocal_patches(manifest: dict) -> dict[str, int]:
    """``{track: GM program of its vocals}`` from a chorale corpus' ``manifest.json`` (keyed by track)."""
    return {track: int(entry["patches"]["vocals"]) for track, entry in manifest["tracks"].items()}


def by_patch(per_clip: pd.DataFrame, patches: dict[str, int], systems: Sequence[str],
             metric: str) -> pd.DataFrame:
    """One row per vocal patch: clips and songs, and ``metric``'s clip mean for each of ``systems``.

    Clips of tracks missing from ``patches`` are left out (a KeyError would hide which)."""
    rows = per_clip[per_clip["system"].isin(systems)].assign(patch=per_clip["track"].map(patches))
    rows = rows.dropna(subset=["patch"])
    table = rows.pivot_table(index="patch", columns="system", values=metric, aggfunc="mean")[list(systems)]
    first = rows[rows["system"] == systems[0]]
    counts = first.groupby("patch").agg(clips=("track", "size"), songs=("track", "nunique"))
    out = counts.join(table.add_prefix(f"{metric} ")).reset_index()
    out.insert(1, "voice", out["patch"].astype(int).map(GM_VOICES).fillna("other"))
    out["patch"] = out["patch"].astype(int)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--per-clip", required=True, help="CSV with track, system and metric columns")
    parser.add_argument("--root", default="data/chorales", help="chorale corpus holding manifest.json")
    parser.add_argument("--systems", nargs="+", required=True, help="systems to show, as named in the CSV")
    parser.add_argument("--metrics", nargs="+", default=["rhythm_xcorr"], help="metric columns")
    parser.add_argument("--out", help="markdown file to write (default: print only)")
    args = parser.parse_args(argv)
    from hafm.data.corpus import load_manifest

    manifest = load_manifest(Path(args.root))
    per_clip = pd.read_csv(args.per_clip)
    text = "\n\n".join(markdown_table(by_patch(per_clip, vocal_patches(manifest), args.systems, m))
                       for m in args.metrics) + "\n"
    if args.out:
        atomic_write_text(Path(args.out), text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
