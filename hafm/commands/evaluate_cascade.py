"""``hafm evaluate-cascade``: held-out cross-entropy per stage vs baselines, loss curves, audio samples."""

from __future__ import annotations

import argparse
from pathlib import Path

STAGE_NAMES = ("semantic", "coarse", "fine")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate-cascade", help="evidence that each stage learned: test cross-entropy vs baselines, curves, samples",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Writes OUT/cascade.md, OUT/cascade.csv (stage, model, val_ce), OUT/cascade_loss_<stage>.png "
                    "and OUT/cascade_samples/*.wav.")
    parser.add_argument("--shards", default="data/shards", help="token shards: train/ (unigram) and test/ (evaluation)")
    parser.add_argument("--checkpoints", default="runs/small",
                        help="folder with <stage>/checkpoint.pt (training runs) or <stage>.pt (release files)")
    parser.add_argument("--runs", default=None, help="folder with <stage>/metrics.csv for the loss curves "
                        "(default: --checkpoints); a stage without one keeps OUT's existing curve")
    parser.add_argument("--out", default="results", help="where the table, plots and samples go")
    parser.add_argument("--config", default="small",
                        help="preset or TOML file: its train.window_seconds sets the windows")
    parser.add_argument("--max-windows", type=int, default=64, help="test windows per stage (non-overlapping)")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="songs the cross-entropy is measured on: the test split (the reported table) or "
                             "the validation songs of the training shards (for choices; unigram from fitting songs)")
    parser.add_argument("--corpus", default="data/chorales",
                        help="MUSDB18 / MUSDB18-HQ-layout root whose test tracks feed the samples")
    parser.add_argument("--samples", type=int, default=3, help="accompaniments to generate (0: none)")
    parser.add_argument("--sample-seconds", type=float, default=8.0, help="length of each sample's vocal excerpt (s)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the generated samples")
    parser.add_argument("--threads", type=int, default=argparse.SUPPRESS,
                        help="torch threads (default: $HAFM_THREADS or 1)")
    parser.set_defaults(func=run)


def stage_file(folder: Path, stage: str) -> Path:
    """``folder/<stage>.pt`` (release) if present, else ``folder/<stage>/checkpoint.pt`` (training run)."""
    release = folder / f"{stage}.pt"
    return release if release.is_file() else folder / stage / "checkpoint.pt"


def _evaluation_tracks(shards: str, stage: str, split: str, vocal_onsets: bool = False) -> tuple[list, list]:
    """``(evaluated, unigram)`` stage tracks: test songs and all training songs, or the validation
    songs and the fitting songs (training minus validation) of the training shards."""
    from hafm.data import splits
    from hafm.data.stage_data import load_stage_tracks

    train = load_stage_tracks(shards, "train", stage, vocal_onsets)
    if split == "test":
        return load_stage_tracks(shards, "test", stage, vocal_onsets), train
    return splits.select(train, "validation"), splits.select(train, "fit")


def _step_of(path: Path) -> int:
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)
    return int(blob["step"] if "step" in blob else blob["meta"]["step"])


def run(args: argparse.Namespace) -> int:
    from hafm import cascade_report
    from hafm.checkpoints import load_stage_model
    from hafm.config import load_config
    from hafm.errors import MissingWeightsError
    from hafm.metrics_log import read_metrics
    from hafm.provenance import provenance
    from hafm.runtime import configure_threads

    configure_threads(getattr(args, "threads", None))
    checkpoints, out = Path(args.checkpoints), Path(args.out)
    runs = Path(args.runs) if args.runs else checkpoints
    window_seconds = load_config(args.config).train.window_seconds
    evidence, plots, models = [], {}, {}
    for stage in STAGE_NAMES:
        path = stage_file(checkpoints, stage)
        models[stage] = load_stage_model(path)
        item = cascade_report.evaluate_stage(models[stage], stage, *_evaluation_tracks(args.shards, stage, args.split,
                                                                                  models[stage].cfg.vocal_onsets),
                                             window_seconds, _step_of(path), args.max_windows)
        evidence.append(item)
        print(f"{stage}: " + ", ".join(f"{k} {v:.3f}" for k, v in item.val_ce.items()) + " nats/token")
        rows = read_metrics(runs / stage / "metrics.csv")
        figure = out / f"cascade_loss_{stage}.png"
        if rows:
            cascade_report.plot_loss_curves(rows, stage, figure)
        if rows or figure.is_file():  # a stage whose run is not here keeps the curve already drawn for it
            plots[stage] = figure.name
    samples = []
    if args.samples > 0:
        try:
            samples = _samples(args, models, out / "cascade_samples")
        except MissingWeightsError as err:  # the table stands without audio; say why there is none
            print(f"no samples: {err}")
    record = provenance(shards=str(args.shards), checkpoints=str(checkpoints), window_seconds=window_seconds,
                        max_windows=args.max_windows, split=args.split)
    relative_samples = [str(Path(s).relative_to(out)) for s in samples]
    csv_path, md_path = cascade_report.write_report(evidence, out, plots, relative_samples, record)
    print(f"wrote {csv_path} and {md_path}")
    return 0


def _samples(args: argparse.Namespace, models: dict, folder: Path) -> list[Path]:
    """For the first ``args.samples`` test songs (an excerpt of ``args.sample_seconds``): the three- and
    two-stage accompaniments, the three-stage mix, and a spectrogram of both beside the true accompaniment
    and its codec resynthesis (so noise instead of notes is seen at a glance)."""
    import torch

    from hafm import audio, cascade_report
    from hafm.data import musdb_io
    from hafm.generate import mix_with_vocals
    from hafm.model.cascade import Cascade
    from hafm.pipeline import GenerationPipeline, load_sampling
    from hafm.tokenizers.alignment import ACOUSTIC_SR
    from hafm.tokenizers.codec import load_codec
    from hafm.tokenizers.semantic import load_semantic

    pipeline = GenerationPipeline(Cascade(**models), load_semantic(None), load_codec(None),
                                  load_sampling(args.checkpoints), weights_id="")
    written = []
    tracks = musdb_io.tracks_of(args.corpus, "test")
    n = int(args.sample_seconds * ACOUSTIC_SR)
    for track in tracks[:args.samples]:
        song = musdb_io.read_track(track, sr=ACOUSTIC_SR)
        vocals = torch.from_numpy(song.vocals[:n].copy())[None]
        truth = torch.from_numpy(song.accompaniment[:n].copy())[None]
        both = pipeline.generate_both(vocals, ACOUSTIC_SR, seed=args.seed)
        oracle = pipeline.decode(pipeline.codec.encode(truth[None])[0], truth.shape[1])
        wavs = {"accompaniment": both[3], "two_stage": both[2], "mix": mix_with_vocals(vocals, ACOUSTIC_SR, both[3])}
        for suffix, wav in wavs.items():
            path = folder / f"{track.name}_{suffix}.wav"
            audio.write(path, wav, ACOUSTIC_SR)
            written.append(path)
        panels = {"true accompaniment": truth, "codec resynthesis (all codebooks)": oracle,
                  "three-stage": both[3], "two-stage": both[2]}
        figure = folder / f"{track.name}_spectrogram.png"
        cascade_report.plot_spectrograms({k: v[0].numpy() for k, v in panels.items()}, ACOUSTIC_SR, figure,
                                         f"{track.name}: first {args.sample_seconds:g} s")
        written.append(figure)
        print(f"sample: {track.name} ({vocals.shape[1] / ACOUSTIC_SR:.1f} s)")
    return written
