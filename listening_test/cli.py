"""``listening_test`` command line: build stimuli, create the database, serve, export.

    listening_test build-stimuli SOURCE OUT [--study-file FILE]   # ITEM/SYSTEM.wav + ITEM/vocals.wav
                                                 #   -> OUT/manifest.json, OUT/study.toml
    listening_test init-db --study OUT/study.toml
    listening_test serve --study OUT/study.toml  # development server (use gunicorn in deployment)
    listening_test export --study OUT/study.toml --out judgments.csv
    listening_test participant --study OUT/study.toml --id PID [--revoke | --withdraw]
    listening_test demo-source FOLDER            # a synthetic ITEM/SYSTEM.wav folder to try it all

The analysis subcommands (``analyze``, ``simulate``) come from ``listening_test.analysis.cli``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

FMT = argparse.ArgumentDefaultsHelpFormatter


def _study_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", type=Path, default=os.environ.get("LISTENING_TEST_STUDY"),
                   required=not os.environ.get("LISTENING_TEST_STUDY"),
                   help="study file (TOML/YAML); default: $LISTENING_TEST_STUDY")


def cmd_build_stimuli(args: argparse.Namespace) -> int:
    from .stimulus_builder import BuildOptions, build_stimuli
    from .study_file import load_study

    study = load_study(args.study_file)
    opts = BuildOptions(sample_rate=study.audio.sample_rate if args.sample_rate is None else args.sample_rate,
                        channels=args.channels or study.audio.channels, target_lufs=args.target_lufs,
                        accomp_offset_db=args.accomp_offset_db, max_seconds=args.max_seconds,
                        catch_base=study.catch.base_system if args.catch_base is None else args.catch_base,
                        offbeat_shift_s=args.offbeat_shift, transpose_semitones=args.transpose_semitones)
    manifest = build_stimuli(args.source, args.out, opts, study)
    print(f"wrote {manifest} and {args.out / 'study.toml'}")
    return 0


def cmd_init_db(args: argparse.Namespace) -> int:
    from .db import init_db
    from .study_file import load_study

    path = args.database or load_study(args.study).database_path
    init_db(path)
    print(f"initialised {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from . import create_app

    os.environ["LISTENING_TEST_STUDY"] = str(args.study.resolve())
    app = create_app()
    print(f"study {app.extensions['study'].study.study_id}: http://{args.host}:{args.port}/  "
          f"(admin pages {'enabled' if app.config['ADMIN_TOKEN'] else 'off: set LISTENING_TEST_ADMIN_TOKEN'})")
    run_simple(args.host, args.port, app, threaded=True)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from hafm.fileio import atomic_write_text

    from . import create_app
    from .db import get_db
    from .export import csv_text

    app = create_app({"STUDY": args.study})
    ctx = app.extensions["study"]
    with app.app_context():
        text = csv_text(get_db(), ctx.study, app.config["SECRET_KEY"])
    atomic_write_text(args.out, text)
    print(f"wrote {text.count(chr(10)) - 1} judgments to {args.out}")
    return 0


def cmd_participant(args: argparse.Namespace) -> int:
    from . import create_app, participants, store
    from .db import get_db

    app = create_app({"STUDY": args.study})
    study_id = app.extensions["study"].study.study_id
    with app.app_context():
        db = get_db()
        row = participants.find_session(db, study_id, app.config["SECRET_KEY"], args.id, args.code)
        if args.withdraw:
            gone = participants.withdraw(db, row, store.now_ms(), args.reason)
            print(f"withdrawn: deleted {gone['judgments']} answers and the session; the link is revoked")
            return 0
        if args.revoke:
            participants.revoke(db, row, store.now_ms(), args.reason)
        row = store.find_session(db, row["session_id"])
        answers = db.execute("SELECT COUNT(*) FROM judgments WHERE session_id = ?", (row["session_id"],)).fetchone()[0]
        print(f"plan row {row['plan_index']}: {store.step(row)}, {answers} of {row['n_trials']} answers, "
              f"{'revoked' if row['revoked'] else 'active'}")
    return 0


def cmd_demo_source(args: argparse.Namespace) -> int:
    from .demo import write_synthetic_source

    write_synthetic_source(args.folder, items=args.items, seconds=args.seconds, seed=args.seed)
    print(f"wrote a synthetic source folder to {args.folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="listening_test", description=__doc__.splitlines()[0], formatter_class=FMT)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-stimuli", help="loudness-matched mixes + manifest + study file", formatter_class=FMT)
    p.add_argument("source", type=Path, help="ITEM/SYSTEM.wav + ITEM/vocals.wav, or SYSTEM/ITEM.wav + vocals/ITEM.wav")
    p.add_argument("out", type=Path, help="output folder (manifest.json, mixes/, study.toml)")
    p.add_argument("--sample-rate", type=int, default=None,
                   help="output sample rate in Hz, 0 = the sources' (default: [audio] sample_rate of the study file)")
    p.add_argument("--channels", choices=("keep", "mono", "stereo"), default=None,
                   help="output channels (default: [audio] channels of the study file)")
    p.add_argument("--target-lufs", type=float, default=-23.0, help="mix loudness in LUFS (lowered if peaks need it)")
    p.add_argument("--accomp-offset-db", type=float, default=0.0,
                   help="accompaniment loudness relative to the vocal, dB")
    p.add_argument("--max-seconds", type=float, default=30.0, help="longest stimulus in seconds (longer items are cut)")
    p.add_argument("--catch-base", default=None,
                   help="system the catch stimuli are made from (default: [catch] base_system of the study file; "
                        "'' = ground_truth)")
    p.add_argument("--offbeat-shift", type=float, default=0.0, help="off-beat shift in s (0 = half a beat)")
    p.add_argument("--transpose-semitones", type=float, default=1.0, help="pitch shift of the transposed catch")
    p.add_argument("--study-file", "--template", dest="study_file", type=Path,
                   default=Path(__file__).parent / "configs" / "demo.toml",
                   help="study file (TOML/YAML, see the README): its [audio] and [catch] guide the build, and it "
                        "is written to OUT/study.toml (when OUT has none) with the pairs the built systems allow")
    p.set_defaults(func=cmd_build_stimuli)

    p = sub.add_parser("init-db", help="create the database tables (keeps existing data)", formatter_class=FMT)
    _study_arg(p)
    p.add_argument("--database", type=Path, default=None, help="database path (default: the study's)")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("serve", help="run the study with the development server", formatter_class=FMT)
    _study_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=5000, help="TCP port")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="write the judgments CSV (columns: listening_test/export.py)",
                       formatter_class=FMT)
    _study_arg(p)
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("participant", help="show, revoke or withdraw one participant", formatter_class=FMT)
    _study_arg(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--id", default="", help="the participant's crowd-platform id (e.g. PROLIFIC_PID)")
    who.add_argument("--code", default="", help="the completion code shown to the participant")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--revoke", action="store_true", help="block the session and the link; keep the answers")
    act.add_argument("--withdraw", action="store_true", help="revoke and delete everything stored for the session")
    p.add_argument("--reason", default="", help="note kept with the revocation")
    p.set_defaults(func=cmd_participant)

    p = sub.add_parser("demo-source", help="write a synthetic ITEM/SYSTEM.wav folder", formatter_class=FMT)
    p.add_argument("folder", type=Path, help="folder to create")
    p.add_argument("--items", type=int, default=6, help="number of items (vocals)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each clip in s")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=cmd_demo_source)

    if importlib.util.find_spec("listening_test.analysis.cli") is not None:
        from .analysis.cli import register

        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hafm.cli import run_parsed

    return run_parsed(build_parser(), argv, "listening_test")


if __name__ == "__main__":
    sys.exit(main())
