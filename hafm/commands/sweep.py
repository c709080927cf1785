"""``hafm sweep-sampling``: choose per-stage sampling settings on the validation split and ship them."""

from __future__ import annotations

import argparse
import dataclasses


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep-sampling",
        help="choose per-stage temperatures, guidance and semantic top-p on held-out training songs "
             "(validation split) by FAD under a rhythm floor",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--root", default="data/chorales", help="MUSDB18(-HQ)-layout corpus (its train split)")
    parser.add_argument("--checkpoints", default=None, help="cascade folder (default: the shipped cascade)")
    parser.add_argument("--out", default="results", help="folder for sampling_sweep.md/.csv")
    parser.add_argument("--write", action="store_true",
                        help="save the chosen settings as sampling.toml in the checkpoint folder (the default "
                             "for hafm generate and the benchmark)")
    parser.add_argument("--max-songs", type=int, default=0, help="validation songs (0: all)")
    parser.add_argument("--clips-per-song", type=int, default=3,
                        help="evenly spaced clips per validation song (1: the middle of each song)")
    parser.add_argument("--clip-seconds", type=float, default=10.0,
                        help="clip length (s), the middle of each song; 10 s as the benchmark's clips, so "
                             "generation spans two windows as there")
    parser.add_argument("--workers", type=int, default=2, help="generation processes (1 thread each)")
    parser.add_argument("--min-rhythm-ratio", type=float, default=0.6,
                        help="eligible settings reach this share of the true accompaniments' rhythm "
                             "(onset cross-correlation with the vocal) on the same clips; 0: FAD alone")
    parser.set_defaults(func=run)


def run(args) -> int:
    import functools
    from pathlib import Path

    import pandas as pd

    from hafm.config import CascadeConfig, to_toml
    from hafm.fileio import atomic_write_text
    from hafm.model.cascade import stage_paths
    from hafm.pipeline import GenerationPipeline, load_sampling
    from hafm.sweep import SweepConfig, sweep, validation_clips
    from hafm.musicnn.embed import clip_embedder

    cfg = SweepConfig(clip_seconds=args.clip_seconds, max_songs=args.max_songs, workers=args.workers,
                      min_rhythm_ratio=args.min_rhythm_ratio, clips_per_song=args.clips_per_song)
    names, vocals, accomps = validation_clips(args.root, cfg.max_songs, cfg.clip_seconds, cfg.clips_per_song)
    load = functools.partial(GenerationPipeline.load, args.checkpoints)
    best, rows, truth = sweep(load, load_sampling(args.checkpoints), vocals, accomps, clip_embedder(24_000), cfg)
    table = pd.DataFrame(rows)
    out = Path(args.out)
    atomic_write_text(out / "sampling_sweep.csv", table.to_csv(index=False, float_format="%.4g"))
    lines = _report(cfg, len(names), truth, table, best)
    atomic_write_text(out / "sampling_sweep.md", "\n".join(lines))
    print("\n".join(lines[-2:]))
    if args.write:
        folder = stage_paths(args.checkpoints)["semantic"].parent
        text = to_toml(dataclasses.replace(CascadeConfig(), sampling=best))
        section = text[text.index("[sampling]"):text.index("[data]")]
        atomic_write_text(folder / "sampling.toml",
                          "# Chosen by `hafm sweep-sampling` on the validation split; see results/sampling_sweep.md\n"
                          + section)
        print(f"wrote {folder / 'sampling.toml'}")
    return 0


def _report(cfg, n_clips: int, truth: float, table, best) -> list[str]:
    """``sampling_sweep.md``'s lines: what was measured, the config, one row per candidate, the choice."""
    from hafm.sweep import RHYTHM_TOLERANCE
    from hafm.tables import markdown_table

    return ["# Sampling settings chosen on the validation split", "",
            f"{n_clips} clips of {cfg.clip_seconds:g} s from validation songs (held-out training songs, "
            f"`hafm.data.splits`), {cfg.clips_per_song} per song, evenly spaced; FAD (`musicnn`, accompaniment) "
            "against the clips' true accompaniment; lower is better. rhythm: mean onset-envelope "
            "cross-correlation with the vocal (`hafm.onsets.rhythm_alignment`, the benchmark's rhythm_xcorr); "
            f"the true accompaniments score {truth:.3f} on these clips, so eligible settings reach "
            f"{cfg.min_rhythm_ratio:g} x {truth:.3f} = {cfg.min_rhythm_ratio * truth:.3f}. Chosen: the lowest "
            f"FAD among eligible settings; the floor is lowered to the highest rhythm less {RHYTHM_TOLERANCE:g} "
            "when that is below it (settings that close to the best are not told apart). Round 1 varies "
            "semantic/coarse (fine greedy), round 2 the fine stage. Test songs are not used.", "",
            f"Config: `{dataclasses.asdict(cfg)}`", "",
            markdown_table(table), "",
            f"Chosen: `{best.effective()}`", ""]
