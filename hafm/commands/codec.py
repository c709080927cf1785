"""``hafm codec fit`` and ``hafm codec eval``: fit the default codec and measure any codec."""

from __future__ import annotations

import argparse
import json
from argparse import SUPPRESS

FIT_EXAMPLE = "hafm codec fit --root data/chorales --out hafm/assets/codec_logmag_rvq.safetensors"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "codec",
        help="fit a residual k-means acoustic codec (log-magnitude default, or MDCT) or evaluate a codec",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    actions = parser.add_subparsers(dest="codec_command", metavar="ACTION", required=True)

    fit = actions.add_parser(
        "fit",
        help="fit 8 residual codebooks x 1024 on the train split of a MUSDB-layout corpus (resumable per stage)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=f"example: {FIT_EXAMPLE}",
    )
    fit.add_argument("--root", required=True, help="MUSDB18 (.stem.mp4) or MUSDB18-HQ-layout root (train/ and test/)")
    fit.add_argument("--out", required=True,
                     help="output codebooks (.safetensors, float16); a .json is written next to it")
    fit.add_argument("--config", default=None,
                     help="TOML file with CodecFitConfig fields (overridden by the flags below)")
    # no argparse choices: the names are hafm.tokenizers.codec.TRANSFORMS, checked when the fit starts,
    # so a new transform needs no change here (and --help does not import torch)
    fit.add_argument("--transform", default=SUPPRESS,
                     help="frame transform, a name in hafm.tokenizers.codec.TRANSFORMS: logmag (log-magnitude STFT, "
                          "the default codec), mdct, ... (default: logmag or --config)")
    fit.add_argument("--max-frames", type=int, default=SUPPRESS,
                     help="training frames (75 Hz frames) (default: 150000 or --config)")
    fit.add_argument("--iterations", type=int, default=SUPPRESS,
                     help="Lloyd iterations per stage (default: 15 or --config)")
    fit.add_argument("--seed", type=int, default=SUPPRESS, help="random seed (default: 0 or --config)")
    fit.add_argument("--threads", type=int, default=SUPPRESS, help="torch threads (default: $HAFM_THREADS or 1)")
    fit.set_defaults(func=run_fit)

    ev = actions.add_parser(
        "eval",
        help="SI-SNR, log-mel distance, FAD (musicnn) and token predictability at 1/2/4/8 codebooks "
             "on held-out vocals and accompaniment",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ev.add_argument("--root", required=True, help="MUSDB18-HQ-layout root")
    ev.add_argument("--split", default="test", help="split to evaluate on")
    ev.add_argument("--codec", default="default", help="'default', 'encodec', a .safetensors file or an EnCodec path")
    ev.add_argument("--out-dir", default="results", help="folder for codec.md and codec.csv")
    ev.add_argument("--name", default="codec", help="report file stem (<name>.md, <name>.csv)")
    ev.add_argument("--max-tracks", type=int, default=0, help="evaluate only the first N tracks (0 = all)")
    ev.add_argument("--no-fad", action="store_true", help="skip the FAD of decoded accompaniments (musicnn)")
    ev.add_argument("--stems", nargs="+", choices=("vocals", "accompaniment"), default=["vocals", "accompaniment"],
                    help="stems to evaluate (the cascade only ever encodes accompaniments)")
    ev.add_argument("--tokens-only", action="store_true",
                    help="only the token predictability of the accompaniment codes (no decoding; seconds)")
    ev.add_argument("--threads", type=int, default=SUPPRESS, help="torch threads (default: $HAFM_THREADS or 1)")
    ev.set_defaults(func=run_eval)

    phase = actions.add_parser(
        "phase",
        help="log-magnitude codec: log-mel distance and speed of Griffin-Lim by iteration count, on validation songs",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    phase.add_argument("--root", required=True, help="MUSDB18-HQ-layout root (its train split's validation songs)")
    phase.add_argument("--codec", default="default", help="a log-magnitude codec: 'default' or a .safetensors file")
    phase.add_argument("--clips", type=int, default=8, help="validation songs, one 10 s accompaniment clip each")
    phase.add_argument("--iterations", type=int, nargs="+", default=[8, 16, 32, 64], help="Griffin-Lim iterations")
    phase.add_argument("--out-dir", default="results", help="folder for codec_phase.md")
    phase.set_defaults(func=run_phase)


def _fit_config(args: argparse.Namespace):
    import dataclasses

    from hafm.tokenizers.fitting.codec import CodecFitConfig

    config = CodecFitConfig.from_toml(args.config) if args.config else CodecFitConfig()
    flags = {"transform": "transform", "max_frames": "max_frames", "kmeans_iters": "iterations", "seed": "seed"}
    overrides = {field: getattr(args, flag) for field, flag in flags.items() if hasattr(args, flag)}
    return dataclasses.replace(config, **overrides)


def run_fit(args: argparse.Namespace) -> int:
    from hafm.runtime import configure_threads
    from hafm.tokenizers.fitting.codec import fit_from_musdb

    configure_threads(getattr(args, "threads", None))
    metadata = fit_from_musdb(args.root, args.out, _fit_config(args))
    print(f"wrote {args.out}: {metadata['fit_frames']} frames, {metadata['fit_seconds']} s, "
          f"fit SNR per stage (dB) {metadata['fit_snr_db_per_stage']}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from hafm.runtime import configure_threads
    from hafm.data import musdb_io
    from hafm.musicnn.embed import clip_embedder
    from hafm.tokenizers.fitting import codec_data
    from hafm.tokenizers.reports import codec as codec_eval
    from hafm.tokenizers.codec import load_codec

    configure_threads(getattr(args, "threads", None))
    codec = load_codec(args.codec)
    tracks = musdb_io.tracks_of(args.root, args.split)
    if args.max_tracks > 0:
        tracks = tracks[: args.max_tracks]
    embed = None if args.no_fad or args.tokens_only else clip_embedder(codec.sample_rate)
    codebooks = () if args.tokens_only else codec_eval.CODEBOOKS
    files = ((track, stem, wav) for track, stem, wav in codec_data.iter_stems(tracks) if stem in args.stems)
    evaluation = codec_eval.evaluate(codec, files, codebooks, embed=embed, progress=True)
    summary = codec_eval.summarise(evaluation.rows)
    header = {
        "codec": f"{args.codec} ({codec.identity()})",
        "data": f"{args.root} split '{args.split}', {len(tracks)} tracks, stems {' and '.join(args.stems)} "
                "(accompaniment = sum of non-vocal stems), full length, 24 kHz mono",
        "command": f"hafm codec eval --root {args.root} --split {args.split} --codec {args.codec} "
                   f"--stems {' '.join(args.stems)}" + (f" --max-tracks {args.max_tracks}" if args.max_tracks else ""),
    }
    fit = getattr(codec, "metadata", {})
    if fit:
        header["fit"] = (f"{fit.get('fit_frames')} frames from {fit.get('train_tracks')} train tracks in "
                         f"{fit.get('fit_seconds')} s; config {json.dumps(fit.get('fit_config'), sort_keys=True)}")
    codec_eval.write_report(summary, header, args.out_dir, args.name, evaluation)
    print(codec_eval.to_csv(summary))
    return 0


def run_phase(args: argparse.Namespace) -> int:
    import pandas as pd

    from hafm.fileio import atomic_write_text
    from hafm.runtime import configure_threads
    from hafm.sweep import validation_clips
    from hafm.tables import markdown_table
    from hafm.tokenizers.reports import codec as codec_eval
    from hafm.tokenizers.codec import load_codec

    configure_threads(None)
    codec = load_codec(args.codec)
    names, _, accompaniments = validation_clips(args.root, args.clips, 10.0)
    import torch

    rows = codec_eval.phase_reconstruction(codec, [torch.from_numpy(a) for a in accompaniments],
                                           tuple(args.iterations))
    text = "\n".join([
        "# Phase reconstruction of the log-magnitude codec", "",
        f"{len(names)} validation songs (held-out training songs), the middle 10 s of each accompaniment; codec "
        f"{codec.identity()}. Log-mel L1 = multi-resolution log10-mel distance to the original (lower is better); "
        "x real time = decoding speed on this machine, one thread. The shipped codec decodes with "
        f"{codec.transform.griffin_lim_iters} iterations.", "",
        markdown_table(pd.DataFrame(rows))])
    atomic_write_text(f"{args.out_dir}/codec_phase.md", text)
    print(text)
    return 0
