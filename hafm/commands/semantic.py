"""``hafm semantic fit`` (k-means on a corpus) and ``hafm semantic report`` (token quality table)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = subparsers.add_parser("semantic", help="fit and evaluate the semantic tokenizer (50 Hz, k-means)",
                                   formatter_class=fmt)
    sub = parser.add_subparsers(dest="semantic_command", metavar="ACTION", required=True)

    fit = sub.add_parser("fit", help="fit k-means on the train split of a MUSDB18-layout corpus", formatter_class=fmt)
    fit.add_argument("--root", required=True, help="MUSDB18 (.stem.mp4) or MUSDB18-HQ-layout root (train split)")
    fit.add_argument("--out", required=True, help="fitted tokenizer file to write (.safetensors)")
    # left-out options stay absent (SUPPRESS) so that a --config file's values are not overridden
    optional = dict(default=argparse.SUPPRESS)
    fit.add_argument("--config", help="TOML file of SemanticConfig fields (a [features] table for features)",
                     **optional)
    fit.add_argument("--features", choices=("musicnn", "musicnn_chroma", "mfcc", "hubert"),
                     help="feature kind (default: the config's, else musicnn)", **optional)
    fit.add_argument("--musicnn-model", choices=("MSD_musicnn", "MTT_musicnn"),
                     help="musicnn model for frame features (default MSD_musicnn)", **optional)
    fit.add_argument("--hubert-dir", help="local HuBERT folder (HubertModel.save_pretrained) for --features hubert",
                     **optional)
    fit.add_argument("--n-clusters", type=int, help="k-means clusters (default 500)", **optional)
    fit.add_argument("--max-frames", type=int, help="50 Hz frames sampled for k-means (default 200000)", **optional)
    fit.add_argument("--seed", type=int, help="seed of the frame sampling and k-means (default 0)", **optional)
    fit.add_argument("--cache", default="cache/semantic", help="folder for per-source sampled frames (resume)")
    fit.add_argument("--threads", type=int, default=1, help="torch threads")
    fit.set_defaults(func=run_fit)

    report = sub.add_parser("report", help="cluster usage and musical information of the tokens (results/semantic.md)",
                            formatter_class=fmt)
    report.add_argument("--root", required=True, help="chorale corpus root (test tracks with notes.json)")
    report.add_argument("--tokenizers", nargs="+", default=["musicnn", "musicnn_chroma", "mfcc"],
                        help="tokenizers to compare: shipped names (musicnn, musicnn_chroma, mfcc) or fitted files")
    report.add_argument("--tracks", type=int, default=12, help="test tracks analysed (first N by name)")
    report.add_argument("--out", default="results/semantic.md", help="markdown report (a .json is written beside it)")
    report.add_argument("--threads", type=int, default=1, help="torch threads")
    report.set_defaults(func=run_report)


def _config(args: argparse.Namespace):
    import dataclasses

    from hafm.tokenizers.semantic import SemanticConfig

    given = vars(args)
    cfg = SemanticConfig.from_toml(given["config"]) if "config" in given else SemanticConfig()
    feats = {field: given[opt] for opt, field in (("features", "kind"), ("musicnn_model", "musicnn_model"),
                                                  ("hubert_dir", "hubert_dir")) if opt in given}
    top = {key: given[key] for key in ("n_clusters", "max_frames", "seed") if key in given}
    return dataclasses.replace(cfg, features=dataclasses.replace(cfg.features, **feats), **top)


def run_fit(args: argparse.Namespace) -> int:
    from hafm.runtime import configure_threads
    from hafm.tokenizers.fitting.semantic import fit_on_corpus

    configure_threads(args.threads)
    cfg = _config(args)
    cache = Path(args.cache) if args.cache else None
    tok = fit_on_corpus(args.root, cfg, cache_dir=cache)
    tok.save(args.out)
    fit = tok.header["fit"]
    print(f"wrote {args.out}: {tok.n_clusters} clusters x {tok.centroids.shape[1]} dims, "
          f"{fit['n_frames']} frames from {tok.header['data']['n_tracks']} tracks, "
          f"identity {tok.identity()}, time {tok.header['timing_s']}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from hafm.runtime import configure_threads
    from hafm.tokenizers.reports.semantic import write_report

    configure_threads(args.threads)
    write_report(args.root, args.tokenizers, args.tracks, Path(args.out))
    print(f"wrote {args.out}")
    return 0
