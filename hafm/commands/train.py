"""``hafm train`` (one stage), ``hafm train-all`` (the three stages + release export), ``hafm export-stage``.

Every run resumes from ``OUT/checkpoint.pt`` when it exists, so re-running the same command after
a crash (or kill -9) continues where the last checkpoint left off.
"""

from __future__ import annotations

import argparse

STAGE_NAMES = ("semantic", "coarse", "fine")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="small",
                        help="preset (small, paper) or TOML file; its [train] table sets the optimisation")
    parser.add_argument("--shards", default="data/shards", help="token shard folder (train/*.npz) from `hafm tokenize`")
    parser.add_argument("--max-steps", type=int, default=argparse.SUPPRESS,
                        help="optimiser steps in total (the cosine schedule's length; default: the config's)")
    parser.add_argument("--threads", type=int, default=argparse.SUPPRESS,
                        help="torch threads (default: $HAFM_THREADS or 1; 0 keeps torch's default, e.g. on GPUs)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    parser.add_argument("--augment-shards", default=argparse.SUPPRESS,
                        help="shard folder of a `hafm data chorales --augment` tree: fitting-only extra data "
                             "(default: the config's train.augment_shards)")


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train one cascade stage (resumes from OUT/checkpoint.pt)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train one stage LM on token shards. Writes OUT/checkpoint.pt, OUT/config.toml, "
                    "OUT/metrics.csv. Multi-GPU: torchrun --nproc-per-node N -m hafm train ...")
    train.add_argument("--stage", required=True, choices=STAGE_NAMES, help="which stage to train")
    train.add_argument("--out", required=True, help="run folder of this stage (checkpoint, config, metrics)")
    train.add_argument("--resume", action="store_true",
                       help="require an existing checkpoint in OUT (without it a checkpoint is still resumed)")
    train.add_argument("--init-from", default=argparse.SUPPRESS, metavar="WEIGHTS",
                       help="start a new run from these weights (best.pt, checkpoint.pt or a release file): "
                            "fine-tuning; ignored when OUT already holds a checkpoint")
    train.add_argument("--max-minutes", type=float, default=argparse.SUPPRESS,
                       help="wall-clock budget of this invocation in minutes, then checkpoint and stop (0: none)")
    _common(train)
    train.set_defaults(func=run_train)

    train_all = subparsers.add_parser(
        "train-all", help="train the three stages one after another and export the release weights",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train semantic, coarse and fine into OUT/<stage>/ (each resumable), then write fp16 "
                    "release files EXPORT/<stage>.pt. Re-running resumes unfinished stages.")
    train_all.add_argument("--out", default="runs/small", help="parent folder of the three stage run folders")
    train_all.add_argument("--max-minutes-per-stage", type=float, default=argparse.SUPPRESS,
                           help="wall-clock budget per stage and invocation, in minutes (default: the config's)")
    train_all.add_argument("--export", default="hafm/assets/cascade",
                           help="folder for the release files semantic.pt, coarse.pt, fine.pt")
    train_all.add_argument("--stages", nargs="+", choices=STAGE_NAMES, default=list(STAGE_NAMES),
                           help="stages to train, in this order")
    _common(train_all)
    train_all.set_defaults(func=run_train_all)

    export = subparsers.add_parser(
        "export-stage", help="write the small release file (fp16 weights + config) of a training checkpoint",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    export.add_argument("checkpoint", help="training checkpoint (OUT/checkpoint.pt)")
    export.add_argument("output", help="release file to write, e.g. hafm/assets/cascade/semantic.pt")
    export.add_argument("--fp32", action="store_true", help="keep fp32 weights (default: fp16)")
    export.set_defaults(func=run_export)


def _config(args: argparse.Namespace, max_minutes: float | None):
    """The config file's settings, with the coarse/fine stage shapes of the codec that made the shards."""
    import dataclasses

    from hafm.config import load_config, with_codec_shape
    from hafm.data.shards import codec_shape

    cfg = load_config(args.config)
    n_codebooks, n_coarse = codec_shape(args.shards)
    cfg = with_codec_shape(cfg, n_codebooks, n_coarse, cfg.coarse.target_vocab)
    overrides = {key: getattr(args, key) for key in ("max_steps", "augment_shards", "init_from") if hasattr(args, key)}
    if max_minutes is not None:
        overrides["max_minutes"] = max_minutes
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **overrides))


def _threads(args: argparse.Namespace, cfg) -> None:
    """--threads, else $HAFM_THREADS, else the config's ``train.threads`` (0: leave torch's default)."""
    import os

    from hafm.runtime import configure_threads

    threads = getattr(args, "threads", None)
    if threads is None:
        threads = None if "HAFM_THREADS" in os.environ else cfg.train.threads
    if threads != 0:
        configure_threads(threads)


def _report(stage: str, result) -> None:
    last = f", last train loss {result.train_losses[-1][1]:.4f}" if result.train_losses else ""
    val = f", last val loss {result.val_losses[-1][1]:.4f}" if result.val_losses else ""
    print(f"{stage}: step {result.step} ({result.stopped}){last}{val}; run folder {result.out_dir}")


def run_train(args: argparse.Namespace) -> int:
    from hafm.train import train_stage

    cfg = _config(args, getattr(args, "max_minutes", None))
    _threads(args, cfg)
    result = train_stage(cfg, args.stage, args.out, args.shards, require_checkpoint=args.resume,
                         progress=not args.no_progress)
    _report(args.stage, result)
    return 0


def run_train_all(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from hafm.checkpoints import export_release, selected_checkpoint
    from hafm.train import train_stage

    cfg = _config(args, getattr(args, "max_minutes_per_stage", None))
    _threads(args, cfg)
    for stage in args.stages:
        run_dir = Path(args.out) / stage
        result = train_stage(cfg, stage, run_dir, args.shards, progress=not args.no_progress)
        _report(stage, result)
        if os.environ.get("RANK", "0") != "0":
            continue
        chosen = selected_checkpoint(run_dir)
        release = export_release(chosen, Path(args.export) / f"{stage}.pt")
        print(f"{stage}: release weights {release} from {chosen.name} ({release.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from hafm.checkpoints import export_release

    path = export_release(args.checkpoint, args.output, half=not args.fp32)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
