"""``python -m benchmark run|tables|stimuli|clips export|fad``: the benchmark harness from the command line."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from hafm.device import DEVICE_HELP
from hafm.errors import HafmError


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(prog="python -m benchmark", formatter_class=fmt,
                                description="Benchmark vocal-to-accompaniment systems with FAD and coherence proxies.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", formatter_class=fmt, help="generate, embed, score and write every table")
    run.add_argument("--root", default="data/chorales",
                     help="MUSDB18 / MUSDB18-HQ tree (the embedded chorale corpus by default; real MUSDB18 works)")
    run.add_argument("--musdb-root", dest="root", help="alias of --root for real MUSDB18(-HQ)")
    run.add_argument("--out", default="results", help="results folder (tables) with its _cache/")
    run.add_argument("--config", help="TOML file of BenchmarkConfig fields (benchmark/config.py)")
    run.add_argument("--systems", nargs="+", help="subset of the shipped systems (benchmark/registry.py; default: all)")
    run.add_argument("--system-dir", action="append", metavar="NAME=DIR",
                     help="an outside system: DIR/<clip_id>.wav per clip (any rate/channels; `clips export` "
                          "writes the vocals), scored beside the others; repeatable")
    run.add_argument("--backends", nargs="+",
                     help="embedding backends, names in benchmark.embeddings.BACKENDS (shipped: musicnn, "
                          "musicnn_vgg, vggish, clap, encodec)")
    run.add_argument("--max-clips", type=int, help="only the first N clips, for a quick look")
    run.add_argument("--clips-per-song", type=int, help="10 s clips per test song")
    run.add_argument("--checkpoints", help="cascade checkpoint folder (default: the shipped cascade)")
    run.add_argument("--threads", type=int, default=None, help="torch threads (default: $HAFM_THREADS or 1)")
    run.add_argument("--device", default="cpu",
                     help=f"{DEVICE_HELP}: the cascade, the codec's decoder and the embedding networks (off the "
                          "CPU the cascade runs in this process instead of the config's worker processes)")
    tables = sub.add_parser("tables", formatter_class=fmt,
                            help="rebuild tables/figures from the run's statistics in OUT/stats/ (seconds)")
    tables.add_argument("--out", default="results", help="results folder holding stats/")
    stim = sub.add_parser("stimuli", formatter_class=fmt,
                          help="export cached clips as a listening-test source (vocals/ITEM.wav, SYSTEM/ITEM.wav)")
    stim.add_argument("--results", default="results", help="results folder of a finished run")
    stim.add_argument("--root", default="data/chorales", help="the MUSDB tree the run used (for the vocals)")
    stim.add_argument("--out", default="data/listening_source", help="folder to write")
    stim.add_argument("--max-items", type=int, default=12, help="items (one clip per song)")
    _add_clips(sub, fmt)
    from benchmark.fad_cli import register as register_fad

    register_fad(sub, fmt)  # FAD between two folders: benchmark/fad_cli.py
    return p


def _add_clips(sub, fmt) -> None:
    clips = sub.add_parser("clips", formatter_class=fmt, help="the benchmark's clips, for an outside model")
    export = clips.add_subparsers(dest="clips_command", required=True).add_parser(
        "export", formatter_class=fmt, help="write OUT/<clip_id>.wav (vocals, mono 24 kHz) and OUT/manifest.json")
    export.add_argument("out", help="folder to write")
    export.add_argument("--root", default="data/chorales", help="the MUSDB tree the run uses")
    export.add_argument("--results", default="results", help="results folder whose _cache/clips.json the run uses")
    export.add_argument("--config", help="TOML file of BenchmarkConfig fields (the run's clip selection)")
    export.add_argument("--clips-per-song", type=int, help="10 s clips per test song")
    export.add_argument("--max-clips", type=int, help="only the first N clips")


def _pipeline(checkpoints: str | None, device):
    """The generation pipeline of the model systems (shipped cascade and its sampling settings) on ``device``."""
    from hafm.pipeline import GenerationPipeline

    return GenerationPipeline.load(checkpoints or None).to(device)


def _codec_factory():
    from hafm.tokenizers.codec import load_codec

    return load_codec()


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.config import load_benchmark_config
    from benchmark.embeddings import get_embedder
    from benchmark.runner import run
    from benchmark.tables import write_tables
    from hafm.fileio import atomic_write_json, sha256_file
    from hafm.provenance import provenance
    from hafm.device import resolve_device
    from hafm.runtime import configure_threads

    threads = configure_threads(args.threads)
    device = resolve_device(args.device)
    cfg = load_benchmark_config(args.config, systems=args.systems, backends=args.backends,
                                max_clips=args.max_clips, clips_per_song=args.clips_per_song,
                                checkpoints=args.checkpoints)
    t0 = time.time()
    from benchmark.outside import parse_system_dirs
    from benchmark.registry import spec

    outside = parse_system_dirs(args.system_dir)
    pipeline = _pipeline(cfg.checkpoints, device) if any(spec(n).needs_pipeline for n in cfg.systems) else None
    model_id = pipeline.identity() if pipeline is not None else "none"
    embedders = {name: get_embedder(name, device=str(device)) for name in cfg.backends}
    root = Path(args.root)
    from benchmark.cascade_pool import precompute

    stats = run(cfg, root, args.out, embedders=embedders, codec=_codec_factory,
                pipeline=pipeline, model_id=model_id,
                data_name=f"{root.name} (MUSDB18 layout)",
                precompute=functools.partial(precompute, checkpoints=cfg.checkpoints or None,
                                             workers=cfg.workers, batch=cfg.batch, device=device), outside=outside)
    written = write_tables(args.out)
    manifest = root / "manifest.json"
    atomic_write_json(Path(args.out) / "provenance.json", provenance(
        config=cfg.to_dict(), threads=threads, device=str(device), model_id=model_id,
        systems=stats["meta"]["systems"],
        sampling=pipeline.sampling.effective() if pipeline is not None else None,
        data={"root": str(root), "manifest_sha256": sha256_file(manifest) if manifest.exists() else None},
        seeds={"clips": cfg.seed, "generation": cfg.generation_seed, "bootstrap": cfg.seed},
        wall_seconds=round(time.time() - t0, 1), outputs=[str(p) for p in written],
        statistics={"reused_from_cache": bool(stats["meta"].get("reused")),
                    "wall_seconds_of_the_run_that_made_them": stats["meta"].get("wall_seconds")}))
    print(f"benchmark done in {time.time() - t0:.0f} s; tables in {args.out}/")
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from benchmark.tables import write_tables

    for path in write_tables(args.out):
        print(path)
    return 0


def cmd_stimuli(args: argparse.Namespace) -> int:
    from benchmark.listening_source import export_listening_source

    items = export_listening_source(args.results, args.root, args.out, args.max_items)
    print(f"{len(items)} items written to {args.out}/ (vocals/ITEM.wav, SYSTEM/ITEM.wav)")
    return 0


def cmd_clips(args: argparse.Namespace) -> int:
    from benchmark.config import load_benchmark_config
    from benchmark.outside import export_clips

    cfg = load_benchmark_config(args.config, clips_per_song=args.clips_per_song, max_clips=args.max_clips)
    entries = export_clips(cfg, args.root, args.results, args.out)
    print(f"{len(entries)} clips written to {args.out}/ (<clip_id>.wav, manifest.json)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "fad":
            return args.func(args)
        commands = {"run": cmd_run, "tables": cmd_tables, "stimuli": cmd_stimuli, "clips": cmd_clips}
        return commands[args.command](args)
    except (HafmError, FileNotFoundError, ValueError) as err:
        print(f"benchmark: error: {err}", file=sys.stderr)
        return 2
