"""``hafm data``: build the embedded chorale corpus and check MUSDB18(-HQ) trees."""

from __future__ import annotations

import argparse

FMT = argparse.ArgumentDefaultsHelpFormatter


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="build and check data sets", formatter_class=FMT)
    sub = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    ch = sub.add_parser(
        "chorales",
        help="render music21's Bach chorales into a MUSDB18-HQ tree (train/test, 5 wav stems per track)",
        formatter_class=FMT,
    )
    ch.add_argument("--out", required=True, help="output folder (created; re-running resumes)")
    ch.add_argument("--sample-rate", type=int, default=24_000, help="sample rate of the wavs (Hz)")
    ch.add_argument("--drums", action="store_true", help="add a meter-based drum pattern (default: silent drums.wav)")
    ch.add_argument("--seed", type=int, default=0, help="seed of the split, tempi and patch choices")
    ch.add_argument("--n-test", type=int, default=50, help="number of chorales in the test split")
    ch.add_argument("--transpose", type=int, nargs="+", default=[0], help="renderings per chorale: semitone shifts")
    ch.add_argument(
        "--tempo-factor", type=float, nargs="+", default=[1.0],
        help="renderings per chorale: tempo multipliers (>1 faster)",
    )
    ch.add_argument(
        "--patch-set",
        nargs="+",
        default=["auto"],
        help="renderings per chorale: instrument sets for alto/tenor/bass "
        "(piano, strings, organ, winds, brass, guitar; 'auto' = seeded per track)",
    )
    ch.add_argument(
        "--augment", type=int, default=0, metavar="N",
        help="write a training-augmentation tree instead: N random transpose/tempo/instrument variants of "
        "every training chorale, nothing else (use another --out than the corpus; train with "
        "`hafm train --augment-shards`)",
    )
    ch.add_argument("--limit", type=int, default=None, help="render only the first N chorales (preview)")
    ch.add_argument("--workers", type=int, default=2, help="parallel processes (1 thread each)")
    ch.set_defaults(func=run_chorales)

    chk = sub.add_parser(
        "check", help="validate a MUSDB18 / MUSDB18-HQ tree through musdb (tracks, rates, stems, lengths)",
        formatter_class=FMT,
    )
    chk.add_argument("--root", required=True, help="root of the tree (holds train/ and test/)")
    chk.add_argument(
        "--is-wav", choices=["auto", "yes", "no"], default="auto",
        help="wav folders (MUSDB18-HQ) or .stem.mp4 files (MUSDB18); auto-detected by default",
    )
    chk.add_argument(
        "--deep", action="store_true",
        help="also decode every stem and report NaN/inf samples, empty stems and silent vocals "
        "(slow: minutes for MUSDB18; default: headers only)",
    )
    chk.set_defaults(func=run_check)


def run_chorales(args) -> int:
    from hafm.data.corpus import CorpusConfig, build_corpus
    from hafm.data.render import PATCH_SETS
    from hafm.errors import HafmError

    unknown = [p for p in args.patch_set if p != "auto" and p not in PATCH_SETS]
    if unknown:
        raise HafmError(f"unknown patch set(s) {unknown}; choose from auto, {', '.join(sorted(PATCH_SETS))}")
    config = CorpusConfig(
        sample_rate=args.sample_rate,
        drums=args.drums,
        seed=args.seed,
        n_test=args.n_test,
        transposes=args.transpose,
        tempo_factors=args.tempo_factor,
        patch_sets=[None if p == "auto" else p for p in args.patch_set],
        limit=args.limit,
        workers=args.workers,
        augment=args.augment,
    )
    manifest = build_corpus(args.out, config)
    summary = manifest["summary"]
    print(
        f"{summary['n_tracks']} tracks in {args.out}: train {summary['train']['tracks']} "
        f"({summary['train']['hours']:.2f} h), test {summary['test']['tracks']} ({summary['test']['hours']:.2f} h)"
    )
    for track, err in manifest.get("failed", {}).items():
        print(f"skipped {track}: {err}")
    return 0


def run_check(args) -> int:
    from hafm.data.check import check_tree, format_report

    is_wav = {"auto": None, "yes": True, "no": False}[args.is_wav]
    report = check_tree(args.root, is_wav=is_wav, deep=args.deep, progress=args.deep)
    print(format_report(report))
    return 0 if report.ok else 1
