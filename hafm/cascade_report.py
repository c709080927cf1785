"""Evidence that each stage learned: held-out cross-entropy against two baselines, loss curves, samples.

Per stage, on non-overlapping windows of the *test* shards (nats per target token):

* ``trained``: the stage LM with its real condition (prefix);
* ``swapped_condition``: the same LM with the prefix of another song's window (the condition
  must matter: a model that ignores it scores the same as ``trained``);
* ``unigram``: per-codebook token frequencies of the training shards (add-one smoothed).

A stage that learned satisfies ``trained < swapped_condition < unigram``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hafm.data.stage_data import (
    StageBatch,
    StageTrack,
    fixed_batches,
    fixed_windows,
    window_blocks,
)
from hafm.fileio import atomic_save, atomic_write_text
from hafm.train import evaluate_batches

MODELS = ("trained", "swapped_condition", "unigram")
CSV_FIELDS = ("stage", "model", "val_ce")


@dataclass(frozen=True)
class StageEvidence:
    stage: str
    val_ce: dict[str, float]  # keyed by MODELS
    windows: int
    window_seconds: float
    step: int

    @property
    def learned(self) -> bool:
        ce = self.val_ce
        return ce["trained"] < ce["swapped_condition"] < ce["unigram"]


def unigram_log_probs(tracks: Sequence[StageTrack], vocab: int) -> np.ndarray:
    """``[K, V]`` log-frequencies of each target codebook's tokens (add-one smoothing)."""
    k = tracks[0].target.shape[0]
    counts = np.ones((k, vocab), dtype=np.float64)
    for track in tracks:
        for codebook in range(k):
            counts[codebook] += np.bincount(track.target[codebook].astype(np.int64), minlength=vocab)[:vocab]
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def unigram_ce(log_probs: np.ndarray, batches: Sequence[StageBatch]) -> float:
    """Mean cross-entropy (nats/token) of the unigram model over every target token of ``batches``."""
    total, count = 0.0, 0
    for batch in batches:
        target = batch.target.numpy()  # [B, K, T]
        codebooks = np.arange(target.shape[1])[None, :, None]
        total -= float(log_probs[codebooks, target].sum())
        count += target.size
    return total / count


def swapped_windows(tracks: Sequence[StageTrack], windows: Sequence[tuple[int, int]],
                    n_blocks: int) -> list[tuple[int, int]]:
    """For each window, a window of another track (half the track list away), clamped to its length."""
    if len(tracks) < 2:
        raise ValueError("swapping conditions needs at least two tracks")
    shift = len(tracks) // 2
    swapped = []
    for track_index, start in windows:
        other = (track_index + shift) % len(tracks)
        swapped.append((other, min(start, tracks[other].n_blocks - n_blocks)))
    return swapped


def _with_prefix_of(batches: Sequence[StageBatch], donors: Sequence[StageBatch]) -> list[StageBatch]:
    return [StageBatch(d.prefix, b.target, b.drop_condition) for b, d in zip(batches, donors)]


def evaluate_stage(model: torch.nn.Module, stage: str, test_tracks: Sequence[StageTrack],
                   train_tracks: Sequence[StageTrack], window_seconds: float, step: int,
                   max_windows: int = 64, batch_size: int = 8) -> StageEvidence:
    """Cross-entropy of the trained model, the swapped-condition model and the unigram baseline."""
    n_blocks = window_blocks(window_seconds)
    usable = [t for t in test_tracks if t.n_blocks >= n_blocks]
    windows = fixed_windows(usable, n_blocks, max_windows)
    batches = fixed_batches(usable, windows, n_blocks, batch_size)
    donors = fixed_batches(usable, swapped_windows(usable, windows, n_blocks), n_blocks, batch_size)
    vocab = model.cfg.target_vocab
    val_ce = {
        "trained": evaluate_batches(model, batches)["loss"],
        "swapped_condition": evaluate_batches(model, _with_prefix_of(batches, donors))["loss"],
        "unigram": unigram_ce(unigram_log_probs(train_tracks, vocab), batches),
    }
    return StageEvidence(stage, val_ce, len(windows), window_seconds, step)


def csv_text(evidence: Sequence[StageEvidence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for item in evidence:
        for model in MODELS:
            writer.writerow([item.stage, model, f"{item.val_ce[model]:.4f}"])
    return buffer.getvalue()


def _songs(provenance: dict) -> str:
    if provenance.get("split") == "validation":
        return "the validation songs of the training shards (unigram from the fitting songs)"
    return "the test shards"


def markdown_text(evidence: Sequence[StageEvidence], plots: dict[str, str], samples: Sequence[str],
                  provenance: dict) -> str:
    lines = [
        "# Cascade: did each stage learn?", "",
        (f"Held-out cross-entropy (nats per target token) on non-overlapping windows of {_songs(provenance)}. "
         "`swapped_condition` feeds the trained model another song's prefix; `unigram` is the per-codebook "
         "token frequency of the training shards. A stage that learned has trained < swapped < unigram."), "",
        "| stage | step | windows x s | trained | swapped_condition | unigram | trained < swapped < unigram |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in evidence:
        ce = item.val_ce
        lines.append(f"| {item.stage} | {item.step} | {item.windows} x {item.window_seconds:g} | {ce['trained']:.3f} "
                     f"| {ce['swapped_condition']:.3f} | {ce['unigram']:.3f} | {'yes' if item.learned else 'NO'} |")
    lines += ["", "## Loss curves", ""]
    lines += [f"![{stage} loss]({path})" for stage, path in plots.items()] or ["(no metrics.csv found)"]
    lines += ["", "## Samples", ""]
    lines += [f"![{Path(p).stem}]({p})" if str(p).endswith(".png") else f"- [{Path(p).name}]({p})"
              for p in samples] or ["(none generated)"]
    lines += ["", "## Provenance", "", "```", *(f"{k}: {v}" for k, v in provenance.items()), "```", ""]
    return "\n".join(lines)


def plot_loss_curves(rows: Sequence[dict], stage: str, path: str | Path) -> None:
    """PNG of train (per step, light) and validation loss (nats/token) against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for split, style in (("train", {"alpha": 0.5, "lw": 0.8}), ("val", {"marker": "o", "lw": 1.5})):
        points = [(int(r["step"]), float(r["loss"])) for r in rows if r["split"] == split]
        if points:
            ax.plot(*zip(*points), label=split, **style)
    ax.set(xlabel="optimiser step", ylabel="cross-entropy (nats/token)", title=f"{stage} stage")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=120))
    plt.close(fig)


def plot_spectrograms(panels: dict[str, np.ndarray], sr: int, path: str | Path, title: str) -> None:
    """PNG of log-mel spectrograms (128 mels, dB) of ``panels`` (name -> waveform ``[n]`` at ``sr`` Hz),
    stacked on one time axis with one colour scale, so pitched notes and noise are told apart by eye."""
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mels = {name: librosa.power_to_db(librosa.feature.melspectrogram(y=np.asarray(wav, dtype=np.float32), sr=sr,
                                                                     n_fft=2048, hop_length=256, n_mels=128),
                                      ref=1.0, top_db=None) for name, wav in panels.items()}
    top = max(float(m.max()) for m in mels.values())
    fig, axes = plt.subplots(len(mels), 1, figsize=(8, 2.0 * len(mels)), sharex=True)
    for ax, (name, mel) in zip(np.atleast_1d(axes), mels.items()):
        ax.imshow(mel, origin="lower", aspect="auto", vmin=top - 80, vmax=top, cmap="magma",
                  extent=(0, mel.shape[1] * 256 / sr, 0, 128))
        ax.set(ylabel="mel bin", title=name)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=100))
    plt.close(fig)


def write_report(evidence: Sequence[StageEvidence], out_dir: str | Path, plots: dict[str, str],
                 samples: Sequence[str], provenance: dict) -> tuple[Path, Path]:
    """Write ``cascade.csv`` and ``cascade.md`` in ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    csv_path, md_path = out_dir / "cascade.csv", out_dir / "cascade.md"
    atomic_write_text(csv_path, csv_text(evidence))
    atomic_write_text(md_path, markdown_text(evidence, plots, samples, provenance))
    return csv_path, md_path
