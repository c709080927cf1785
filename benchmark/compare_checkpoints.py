"""Compare cascade checkpoint folders on *validation* songs: the choice of which weights to ship.

    python -m benchmark.compare_checkpoints --root data/chorales \\
        --candidates shipped=hafm/assets/cascade finetuned=runs/finetune/release --out results/finetune_augment

Each folder holds ``semantic.pt``, ``coarse.pt``, ``fine.pt`` (release files or training checkpoints)
and optionally ``sampling.toml``. ``NAME=FOLDER:2`` runs the folder's two-stage ablation (its coarse
codes decoded alone; with the same seeds it draws exactly the coarse codes of ``NAME=FOLDER``, so
the two are paired by clip). Every candidate generates with its own sampling settings, the
same seeds and the same 10 s clips (the middle of each validation song, as ``hafm sweep-sampling``,
or ``--clips-per-song`` evenly spaced ones).
Written: ``per_clip.csv`` (proxies and music metrics of every system and clip, ground truth
included), ``summary.csv`` / ``summary.md`` (means, FAD against the validation songs' true
accompaniments, and every candidate's paired difference from the first in FAD and in each metric,
by song with bootstrap 95% intervals), ``systems.png`` (every metric by system), ``spectrograms.png`` (the first clip,
every system) and ``config.json``. With ``--oracles`` two upper bounds of the first candidate
join as systems: ``codec_oracle`` (the true accompaniment through the codec) and ``true_semantic``
(its coarse and fine stages on the true accompaniment's semantic tokens), which show what the
semantic stage loses and what the acoustic stages and the codec lose. Generated clips are kept in
``--cache`` (default ``data/compare_cache``) under the pipeline's identity, so an interrupted
comparison resumes and a candidate compared again is not generated again. Test songs are never read.
"""

from __future__ import annotations

import argparse
import functools
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from benchmark.music.stats import paired_difference
from hafm.fileio import atomic_write_json, atomic_write_text
from hafm.tables import markdown_table

SR = 24_000
RESERVED = ("truth", "codec_oracle", "true_semantic")  # system names the tool itself gives
METRICS = ("fad", "harmony", "rhythm", "coherence", "rhythm_xcorr", "harmony_chroma", "tonality")


class Candidate(NamedTuple):
    """A checkpoint folder (None: the shipped cascade) and how many of its stages run (2 or 3)."""

    folder: str | None
    stages: int = 3


def candidate_folders(pairs: list[str]) -> dict[str, Candidate]:
    """``["NAME=FOLDER", "NAME=FOLDER:2", ...]`` -> ``{NAME: Candidate}`` (FOLDER ``shipped``: the shipped cascade)."""
    out: dict[str, Candidate] = {}
    for pair in pairs:
        name, sep, folder = pair.partition("=")
        if not sep or not name or name in RESERVED:
            raise SystemExit(f"--candidates wants NAME=FOLDER[:2] (NAME not one of {RESERVED}), got {pair!r}")
        stages = 3
        if folder.endswith((":2", ":3")):
            folder, stages = folder[:-2], int(folder[-1])
        out[name] = Candidate(None if folder in ("", "shipped") else folder, stages)
    return out


def generate(candidates: dict[str, Candidate], vocals: list[np.ndarray], seed: int, workers: int,
             cache: str | Path | None = None) -> dict[str, list[np.ndarray]]:
    """Every candidate's accompaniment of every clip (24 kHz), each with its folder's sampling.

    With a ``cache`` folder, each output is stored as it is made, under the pipeline's identity,
    the vocal's content and the clip's seed: a re-run or a later comparison with the same candidate
    reuses it, and an interrupted run resumes.
    """
    from hafm.pipeline import GenerationPipeline, load_sampling
    from hafm.sweep import generate_all

    out = {}
    for name, c in candidates.items():
        load = functools.partial(GenerationPipeline.load, c.folder, c.stages)
        if cache is None:
            out[name] = generate_all(load, [load_sampling(c.folder)], vocals, seed, workers)[0]
        else:
            out[name] = _cached(load, load_sampling(c.folder), vocals, seed, workers, Path(cache))
    return out


def _cached(load: Callable, sampling, vocals: list[np.ndarray], seed: int, workers: int,
            folder: Path) -> list[np.ndarray]:
    """``generate_all`` for one candidate through an ``OutputCache`` (clip ``i`` seeded ``seed + i``)."""
    import hashlib

    from benchmark.cache import OutputCache
    from hafm.sweep import generate_all

    cache, identity = OutputCache(folder), load().with_sampling(sampling).identity()
    keys = [f"{hashlib.sha256(np.ascontiguousarray(v, np.float32).tobytes()).hexdigest()[:16]}#seed{seed + i}"
            for i, v in enumerate(vocals)]
    wavs = [cache.get("compare", identity, k) for k in keys]
    missing = [i for i, w in enumerate(wavs) if w is None]
    if missing:
        def store(_candidate: int, j: int, wav: np.ndarray) -> None:
            cache.put("compare", identity, keys[missing[j]], wav)
            wavs[missing[j]] = wav

        generate_all(load, [sampling], [vocals[i] for i in missing], seed, workers,
                     seeds=[seed + i for i in missing], on_clip=store)
    return wavs


def oracle_outputs(folder: str | None, vocals: list[np.ndarray], accomps: list[np.ndarray], seed: int,
                   batch: int = 8) -> dict[str, list[np.ndarray]]:
    """Upper bounds for ``folder``'s cascade, by clip (24 kHz, one process): ``codec_oracle``, the true
    accompaniment through the codec (8 codebooks), and ``true_semantic``, its coarse and fine stages
    run on the true accompaniment's semantic tokens (the semantic stage skipped; clip i seed + i)."""
    import torch

    from benchmark.systems import CodecOracle
    from hafm.pipeline import GenerationPipeline, length_batches

    pipeline = GenerationPipeline.load(folder)
    codec_oracle = CodecOracle(pipeline.codec, pipeline.codec.n_codebooks, "codec_oracle")
    out = {"codec_oracle": [codec_oracle(types.SimpleNamespace(accompaniment=a)) for a in accomps],
           "true_semantic": [None] * len(vocals)}
    for idx in length_batches([len(v) for v in vocals], batch):
        wavs = pipeline.generate_batch([torch.from_numpy(vocals[i])[None] for i in idx], SR,
                                       seeds=[seed + i for i in idx],
                                       accompaniments=[torch.from_numpy(accomps[i])[None] for i in idx])
        for i, wav in zip(idx, wavs):
            out["true_semantic"][i] = wav[0].numpy()
    return out


def song_frames(embed: Callable[[torch.Tensor], np.ndarray], songs: Sequence[str],
                wavs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """``embed``'s frames of every clip (24 kHz audio ``[n]``), pooled by song: ``song -> [frames, d]``."""
    frames: dict[str, list[np.ndarray]] = {}
    for song, wav in zip(songs, wavs, strict=True):
        frames.setdefault(song, []).append(embed(torch.from_numpy(wav)))
    return {song: np.concatenate(f) for song, f in frames.items()}


def fad_by_song(embed: Callable[[torch.Tensor], np.ndarray], songs: Sequence[str], reference: Sequence[np.ndarray],
                outputs: dict[str, Sequence[np.ndarray]], first: str, n_resamples: int = 1000,
                seed: int = 0) -> tuple[dict[str, float], dict[str, str]]:
    """FAD of every system's clips against the ``reference`` clips (frames pooled over clips), and, for
    each system but ``first``, its FAD minus ``first``'s with a paired by-song bootstrap 95% interval
    (each resample draws the same songs for both systems)."""
    from benchmark.fad import as_reference, paired_fad_difference, song_stats

    ref = as_reference(song_frames(embed, songs, reference))
    frames = {name: song_frames(embed, songs, wavs) for name, wavs in outputs.items()}
    fads = {name: song_stats(ref, by_song).fad(ref, np.ones(len(by_song))) for name, by_song in frames.items()}
    diffs = {}
    for name in frames:
        if name != first:
            d = paired_fad_difference(ref, frames[name], frames[first], n_resamples=n_resamples, rng=seed)
            diffs[name] = f"{d.diff:+.2f} [{d.ci_low:+.2f}, {d.ci_high:+.2f}]"
    return fads, diffs


def summarize(per_clip: pd.DataFrame, fads: dict[str, float] | None, first: str,
              metrics: tuple[str, ...] = METRICS[1:], fad_diffs: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per system: FAD (unless ``fads`` is None) and its paired difference from ``first``
    (``fad_diffs``, when given), means, and each metric's paired difference from ``first`` by song
    (bootstrap 95% interval)."""
    rows = []
    by_song = per_clip.groupby(["system", "track"]).mean(numeric_only=True)
    for system, group in per_clip.groupby("system", sort=False):
        row = {"system": system, "clips": len(group)}
        if fads is not None:
            row["fad"] = fads.get(system, np.nan)
        if fad_diffs is not None:
            row["fad_diff"] = fad_diffs.get(system, "")
        row.update({m: group[m].mean() for m in metrics if m in group})
        if system not in (first, "truth"):
            for m in metrics:
                diff = paired_difference(by_song.loc[system][m], by_song.loc[first][m])
                row[f"{m}_diff"] = f"{diff.diff:+.3f} [{diff.ci_low:+.3f}, {diff.ci_high:+.3f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def plot_systems(per_clip: pd.DataFrame, path: Path, metrics: tuple[str, ...] = METRICS[1:]) -> None:
    """PNG: one panel per metric, a bar per system (clip mean, whiskers 1.96 standard errors)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hafm.fileio import atomic_save

    systems = list(dict.fromkeys(per_clip["system"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 3.4), sharey=False)
    for ax, metric in zip(axes, metrics):
        groups = [per_clip.loc[per_clip["system"] == s, metric].dropna() for s in systems]
        means = [g.mean() for g in groups]
        errors = [1.96 * g.std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else 0.0 for g in groups]
        ax.bar(range(len(systems)), means, yerr=errors, color=[f"C{i}" for i in range(len(systems))], capsize=3)
        ax.set_xticks(range(len(systems)), systems, rotation=60, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def write_results(out: Path, per_clip: pd.DataFrame, summary: pd.DataFrame, config: dict) -> None:
    """``per_clip.csv``, ``summary.csv``, ``summary.md``, ``systems.png`` and ``config.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "per_clip.csv", per_clip.to_csv(index=False))
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "summary.md", markdown_table(summary)
                      + "\n\n![systems](systems.png)\n![first clip](spectrograms.png)\n")
    plot_systems(per_clip, out / "systems.png")
    atomic_write_json(out / "config.json", config)


def benchmark_starts(seed: int = 0) -> Callable[[np.ndarray, int, int], list[int]]:
    """A ``starts`` for ``hafm.sweep.validation_clips`` that places each song's clips as the benchmark
    places its test clips (``benchmark.clips.select_clips``: non-overlapping, on a 1 s grid, vocal
    active for at least the benchmark's share of frames; one seeded generator over the songs)."""
    from benchmark.clips import select_clips
    from benchmark.config import BenchmarkConfig

    cfg, rng = BenchmarkConfig(), np.random.default_rng(seed)

    def starts(vocals: np.ndarray, n: int, count: int) -> list[int]:
        clips = select_clips("", "validation", vocals, SR, clip_seconds=n / SR, count=count,
                             min_active=cfg.min_vocal_active, activity_db=cfg.activity_db, rng=rng)
        return [round(c.start * SR) for c in clips]

    return starts


def chosen_clips(args: argparse.Namespace) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Names, vocals and accompaniments ``[n]`` (24 kHz, 10 s) of the clips ``add_validation_arguments`` chose."""
    from hafm.sweep import even_starts, validation_clips

    starts = benchmark_starts() if args.clip_choice == "benchmark" else even_starts
    return validation_clips(args.root, args.max_songs, 10.0, args.clips_per_song, starts)


def add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a comparison of candidates on validation clips (this tool, ``semantic_timing``)."""
    parser.add_argument("--root", default="data/chorales", help="corpus whose training songs hold the validation split")
    parser.add_argument("--candidates", nargs="+", required=True,
                        help="NAME=FOLDER (FOLDER:2: its two-stage ablation); the first is the baseline")
    parser.add_argument("--out", required=True, help="folder for the tables")
    parser.add_argument("--max-songs", type=int, default=0, help="validation songs to use (0: all)")
    parser.add_argument("--clips-per-song", type=int, default=1,
                        help="10 s clips per song, evenly spaced (1: the middle); differences stay paired by song")
    parser.add_argument("--seed", type=int, default=0, help="seed of clip i is seed + i, for every candidate")
    parser.add_argument("--clip-choice", choices=("even", "benchmark"), default="even",
                        help="even: evenly spaced clips; benchmark: chosen as the benchmark chooses its test clips "
                             "(vocal-active, seeded positions)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_validation_arguments(parser)
    parser.add_argument("--oracles", action="store_true",
                        help="also score the first candidate's codec oracle and its acoustic stages on true "
                             "semantic tokens")
    parser.add_argument("--workers", type=int, default=2, help="processes (1 thread each)")
    parser.add_argument("--cache", default="data/compare_cache",
                        help="folder of generated clips, keyed by pipeline identity, vocal and seed ('': none)")
    args = parser.parse_args(argv)
    from hafm.cascade_report import plot_spectrograms
    from hafm.musicnn.embed import clip_embedder
    from hafm.runtime import configure_threads
    from hafm.sweep import clip_song

    from benchmark.music.bench import clip_rows

    configure_threads(1)
    candidates = candidate_folders(args.candidates)
    names, vocals, accomps = chosen_clips(args)
    outputs = generate(candidates, vocals, args.seed, args.workers, args.cache or None)
    if args.oracles:
        outputs.update(oracle_outputs(next(iter(candidates.values())).folder, vocals, accomps, args.seed))
    first = next(iter(candidates))
    fads, fad_diffs = fad_by_song(clip_embedder(SR), [clip_song(n) for n in names], accomps, outputs, first,
                                  seed=args.seed)
    clips = [types.SimpleNamespace(clip_id=n, track=clip_song(n), vocals=v) for n, v in zip(names, vocals)]
    systems = {"truth": accomps, **outputs}
    per_clip = pd.DataFrame(clip_rows({s: dict(zip(names, outs)) for s, outs in systems.items()}, clips, SR,
                                      args.workers))
    summary = summarize(per_clip, fads, first, fad_diffs=fad_diffs)
    write_results(Path(args.out), per_clip, summary, {**vars(args), "clips": names})
    plot_spectrograms({"vocals": vocals[0], "truth": accomps[0], **{s: outs[0] for s, outs in outputs.items()}},
                      SR, Path(args.out) / "spectrograms.png", f"{names[0]} (validation)")
    print(markdown_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
