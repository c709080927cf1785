"""``python -m benchmark fad REF_DIR EVAL_DIR``: FAD between two folders of audio (``benchmark.fad_dirs``).

Only argparse at import time: ``python -m benchmark --help`` must not wait for torch.
"""

from __future__ import annotations

import argparse
import json
import sys

from hafm.device import DEVICE_HELP

DESCRIPTION = """\
FAD of the audio files in EVAL_DIR against those in REF_DIR. Every file (recursively; wav, flac,
ogg, mp3, aiff; any sample rate, resampled to the backend's) is one song: the bootstrap CI
resamples songs. Channels: every backend embeds mono audio, so by default each file is downmixed
(mean of its channels); --channels each embeds every channel separately and pools the frames of
all channels into the file's song. Backends (frames per song): musicnn (200-d, 3 s windows every
0.5 s; weights in its wheel), musicnn_vgg (256-d, every 1.5 s), vggish (128-d, 0.96 s),
clap (512-d, 10 s windows every 1 s; --weights: a save_pretrained folder), encodec (128-d, 75 Hz;
--weights: encodec_24khz-d7cc33bc.th). Nothing is downloaded. Embeddings are cached on disk, so
a second run over the same files only reads them. A warning says when there are too few songs
or frames for the CI (or the value) to mean much."""


def register(subparsers: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add the ``fad`` subcommand to ``python -m benchmark``."""
    p = subparsers.add_parser("fad", formatter_class=formatter, description=DESCRIPTION,
                              help="FAD between two folders of audio (any rate, any channels), with a CI")
    p.add_argument("reference", metavar="REF_DIR", help="folder of reference audio (e.g. real recordings)")
    p.add_argument("eval", metavar="EVAL_DIR", help="folder of audio to score (e.g. a model's outputs)")
    # no argparse choices: the names are benchmark.embeddings.BACKENDS, checked when the command runs,
    # so a new backend needs no change here (and --help does not import torch)
    p.add_argument("--backend", default="musicnn",
                   help="embedding network, a name in benchmark.embeddings.BACKENDS (shipped: musicnn, musicnn_vgg, "
                        "vggish, clap, encodec)")
    p.add_argument("--weights", help="local weights of vggish (file), clap (folder) or encodec (checkpoint)")
    p.add_argument("--channels", default="downmix", choices=("downmix", "each"),
                   help="downmix each file to mono, or embed each channel as frames of the same song")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples of the eval songs for the CI (0: no CI)")
    p.add_argument("--confidence", type=float, default=0.95, help="CI level")
    p.add_argument("--inf", action="store_true", help="also FAD-infinity (extrapolated to infinitely many frames)")
    p.add_argument("--per-song", metavar="CSV", help="write each eval file's own FAD here (columns: song, fad)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (warnings included) to stdout")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap, split-half floor and FAD-inf")
    p.add_argument("--device", default="cpu", help=f"{DEVICE_HELP} (the embedding network)")
    p.add_argument("--cache", default=None, help="embedding cache folder (default: $HAFM_EMBEDDING_CACHE "
                                                 "or ~/.cache/hafm/embeddings)")
    p.add_argument("--no-cache", action="store_true", help="embed without reading or writing the cache")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: $HAFM_THREADS or 1)")
    p.set_defaults(func=cmd_fad)


def cmd_fad(args: argparse.Namespace) -> int:
    import warnings

    from benchmark.fad_dirs import FadDirsWarning, fad_dirs
    from hafm.runtime import configure_threads

    configure_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FadDirsWarning)  # printed below from result.warnings
        result = fad_dirs(args.reference, args.eval, args.backend, channels=args.channels,
                          n_resamples=args.bootstrap, confidence=args.confidence, inf=args.inf, seed=args.seed,
                          cache_dir=args.cache, use_cache=not args.no_cache, device=args.device,
                          weights=args.weights, progress=not args.json)
    if args.per_song:
        _write_per_song(args.per_song, result.per_song)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(summary(result))
    for note in result.warnings:
        print(f"warning: {note}", file=sys.stderr)
    return 0


def summary(result) -> str:
    """A few human-readable lines: FAD [CI], sizes, floor, FAD-inf."""
    r = result.fad
    ci = (f"{r.confidence:.0%} CI [{r.ci_low:.4g}, {r.ci_high:.4g}], {r.n_resamples} song resamples"
          if r.n_resamples else "no CI (--bootstrap 0)")
    lines = [f"FAD {r.value:.4g} ({ci})",
             f"  backend {result.backend} ({result.dim}-d, channels: {result.channels}); "
             f"eval {r.n} songs / {r.n_frames} frames; reference {result.reference_songs} songs / "
             f"{result.reference_frames} frames"]
    if result.floor is not None:
        f = result.floor
        lines.append(f"  reference split-half floor {f.value:.4g} (range [{f.ci_low:.4g}, {f.ci_high:.4g}] "
                     f"over {f.n_resamples} splits)")
    if result.fad_inf is not None:
        lines.append(f"  FAD-inf {result.fad_inf.value:.4g} (fit r2 {result.fad_inf.r2:.3f})")
    return "\n".join(lines)


def _write_per_song(path: str, per_song: dict[str, float]) -> None:
    import csv
    import io

    from hafm.fileio import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["song", "fad"])
    writer.writerows([name, f"{value:.6g}"] for name, value in per_song.items())
    atomic_write_text(path, buffer.getvalue())
