"""``listening_test analyze`` and ``listening_test simulate``.

``register(subparsers)`` adds both subcommands to the ``listening_test`` CLI; ``main`` runs them
standalone (``python -m listening_test.analysis``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path


FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``analyze`` and ``simulate`` to a subparsers object."""
    analyze = sub.add_parser(
        "analyze", formatter_class=FORMATTER,
        help="statistics of an export CSV: tables (md, csv, tex), figures (pdf, svg, png), power note",
        description="Screen raters on catch trials, then test preference (rater-clustered), ratings "
                    "(Wilcoxon, Friedman), position bias, agreement; Holm over all tests.")
    analyze.add_argument("exports", nargs="+", type=Path, help="export CSV(s) of the server, one row per judgment")
    analyze.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    analyze.add_argument("--config", type=Path, default=None,
                         help="TOML file whose [analysis] table overrides AnalysisConfig fields")
    analyze.add_argument("--study", type=Path, default=None,
                         help="the study file (TOML/YAML) the export comes from: its [[questions]] (ids and "
                              "min..max scales) are the rating columns analysed, and its study_id must match "
                              "the export's (default: the built-in questions rhythm, harmony, coherence, 1-5)")
    analyze.add_argument("--preference-pairs", nargs="+", default=None, metavar="X:Y",
                         help="preference comparisons (default: every pair compared in the trials)")
    analyze.add_argument("--rating-pairs", nargs="+", default=None, metavar="X:Y",
                         help="paired rating comparisons (default: every pair of rated systems)")
    analyze.add_argument("--n-boot", type=int, default=None, help="rater-bootstrap resamples (config default: 2000)")
    analyze.add_argument("--seed", dest="boot_seed", type=int, default=None, help="bootstrap seed (config default: 0)")
    analyze.add_argument("--objective", type=Path, default=None,
                         help="per-clip objective metrics (the benchmark's results/proxies.csv): adds "
                              "objective_vs_subjective.md/.csv, correlation per attribute")
    analyze.add_argument("--require-headphones", action="store_true",
                         help="also exclude raters who failed the headphone check (export column headphone_passed)")
    analyze.set_defaults(func=run_analyze)

    simulate = sub.add_parser(
        "simulate", formatter_class=FORMATTER,
        help="calibrate the analysis on simulated studies (type I error, power); write a simulated export",
        description="Run N simulated studies per scenario (null with/without rater taste, planted effect) "
                    "through the analysis and write the calibration report. Everything it writes is "
                    "labelled SIMULATED.")
    simulate.add_argument("--studies", type=int, default=1000, help="simulated studies per scenario (0: none)")
    simulate.add_argument("--seed", type=int, default=0, help="master seed")
    simulate.add_argument("--out", type=Path, default=Path("results/listening_calibration.md"),
                          help="calibration report (Markdown)")
    simulate.add_argument("--export", type=Path, default=None,
                          help="also write one simulated study as an export CSV here (seed --seed)")
    simulate.add_argument("--config", type=Path, default=None,
                          help="TOML file with [simulation] (base SimulationConfig) and [analysis] tables")
    simulate.set_defaults(func=run_simulate)


def _analysis_config(args: argparse.Namespace):
    from listening_test.analysis.config import AnalysisConfig, load_config

    config = load_config(AnalysisConfig, args.config, "analysis")
    overrides = {
        "preference_pairs": tuple(args.preference_pairs) if getattr(args, "preference_pairs", None) else None,
        "rating_pairs": tuple(args.rating_pairs) if getattr(args, "rating_pairs", None) else None,
        "n_boot": getattr(args, "n_boot", None),
        "seed": getattr(args, "boot_seed", None),
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if getattr(args, "require_headphones", False):
        config.screening = dataclasses.replace(config.screening, require_headphones=True)
    return config


def _load_study_exports(args: argparse.Namespace, config):
    """``(validated exports, config)``; with ``--study``, the config rates that file's questions and
    exports whose ``study_id`` is another study's are refused."""
    from listening_test.analysis.questions import questions_from_study
    from listening_test.analysis.schema import ExportError, load_exports

    if args.study is None:
        return load_exports(args.exports, config.questions), config
    study = questions_from_study(args.study)
    df = load_exports(args.exports, study.questions)
    found = sorted(set(df["study_id"].astype(str))) if "study_id" in df.columns else []
    if found and found != [study.study_id]:
        raise ExportError(f"the export is from study {', '.join(found)}; the study file {args.study} declares "
                          f"{study.study_id!r}: pass the study file the export comes from")
    return df, dataclasses.replace(config, questions=study.questions)


def _versions() -> dict[str, str]:
    import krippendorff
    import numpy
    import pandas
    import scipy
    import statsmodels

    return {"numpy": numpy.__version__, "scipy": scipy.__version__, "pandas": pandas.__version__,
            "statsmodels": statsmodels.__version__, "krippendorff": getattr(krippendorff, "__version__", "unknown"),
            "python": sys.version.split()[0]}


def run_analyze(args: argparse.Namespace) -> int:
    from hafm.fileio import sha256_file
    from listening_test.analysis.report import write_results
    from listening_test.analysis.schema import is_simulated
    from listening_test.analysis.study import analyze_study

    df, config = _load_study_exports(args, _analysis_config(args))
    simulated = is_simulated(df)
    result = analyze_study(df, config)
    provenance = {
        "arguments": {k: v if isinstance(v, (int, float, type(None))) else str(v)
                      for k, v in vars(args).items() if k != "func"},
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": [{"path": os.fspath(p), "sha256": sha256_file(p)} for p in args.exports],
        "config": dataclasses.asdict(config),
        "versions": _versions(),
    }
    written = write_results(result, args.out, simulated, provenance, config.alpha, config.power)
    if args.objective is not None:
        written += _write_objective(df, config, args, simulated)
    label = "SIMULATED data" if simulated else "data"
    print(f"analysed {label}: {result.screening.raters_after}/{result.screening.raters_before} raters kept, "
          f"{result.screening.judgments_after} judgments; wrote {len(written)} files to {args.out}")
    return 0


def _write_objective(df, config, args: argparse.Namespace, simulated: bool) -> list[Path]:
    """Objective metrics beside the screened ratings (``listening_test.analysis.objective``)."""
    import pandas as pd

    from hafm.fileio import atomic_write_text
    from listening_test.analysis.objective import side_by_side, side_by_side_markdown
    from listening_test.analysis.screening import screen

    kept, _ = screen(df, config.screening, config.attributes)
    table = side_by_side(kept[kept["is_catch"] == 0], pd.read_csv(args.objective), n_boot=config.n_boot,
                         seed=config.seed, attributes=config.attributes)
    paths = [Path(args.out) / "objective_vs_subjective.md", Path(args.out) / "objective_vs_subjective.csv"]
    atomic_write_text(paths[0], side_by_side_markdown(table, simulated))
    atomic_write_text(paths[1], table.assign(simulated=int(simulated)).to_csv(index=False, float_format="%.6g"))
    return paths


def run_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from hafm.fileio import atomic_write_text
    from listening_test.analysis import calibration
    from listening_test.analysis.config import load_config
    from listening_test.analysis.simulate import SimulationConfig, simulate_study

    config = _analysis_config(args)
    base = load_config(SimulationConfig, args.config, "simulation")
    if args.export is not None:
        export = simulate_study(base, np.random.default_rng(args.seed))
        atomic_write_text(args.export, export.to_csv(index=False))
        print(f"wrote a SIMULATED export ({len(export)} trials, {base.n_raters} raters) to {args.export}")
    if args.studies > 0:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
        scenarios = calibration.default_scenarios(base)
        results = calibration.calibrate(scenarios, args.studies, args.seed, config)
        atomic_write_text(args.out, calibration.calibration_markdown(results, args.seed, config, started))
        print(f"wrote the calibration ({args.studies} studies x {len(scenarios)} scenarios, "
              f"{sum(r['wall_s'] for r in results):.0f} s) to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m listening_test.analysis", formatter_class=FORMATTER,
                                     description="Listening-test statistics (the analysis part of `listening_test`).")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    from hafm.cli import run_parsed

    return run_parsed(build_parser(), argv, "listening_test")
