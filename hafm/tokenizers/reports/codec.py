"""Quality of an acoustic codec on held-out stems, by number of codebooks.

Metrics per file: SI-SNR (dB, mean removed; higher is better; meaningless for codecs that rebuild
the phase, reported anyway) and a multi-resolution log-mel L1 distance (log10 magnitude mel at
n_fft 512/1024/2048 with hop n_fft/4 and 64/80/128 mels, clamped at 1e-5, averaged over the
three; lower is better). The summary also counts, for each doubling of codebooks, the files that
are strictly better than with half as many.

Over the accompaniment stems (what the cascade generates), ``evaluate`` also reports FAD by number
of codebooks (an injected embedder, ``musicnn`` in the CLI; reference = the same songs' true
audio, so the true audio scores 0) and the predictability of the codes (``token_stats``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hafm.fileio import atomic_write_text
from hafm.tokenizers.alignment import ACOUSTIC_SR

CODEBOOKS = (1, 2, 4, 8)
METRICS = {"si_snr_db": +1, "log_mel_l1": -1}  # +1: higher is better, -1: lower is better
MEL_RESOLUTIONS = ((512, 64), (1024, 80), (2048, 128))  # (n_fft, n_mels)
_MEL_CACHE: dict[tuple[int, int], torch.nn.Module] = {}


def si_snr(reference: torch.Tensor, estimate: torch.Tensor, eps: float = 1e-12) -> float:
    """Scale-invariant SNR in dB of ``estimate [n]`` against ``reference [n]`` (means removed)."""
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    scale = (estimate @ reference) / (reference @ reference + eps)
    target = scale * reference
    noise = estimate - target
    return float(10 * torch.log10((target @ target + eps) / (noise @ noise + eps)))


def _mel(n_fft: int, n_mels: int) -> torch.nn.Module:
    if (n_fft, n_mels) not in _MEL_CACHE:
        import torchaudio

        _MEL_CACHE[(n_fft, n_mels)] = torchaudio.transforms.MelSpectrogram(
            sample_rate=ACOUSTIC_SR, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, power=1.0
        )
    return _MEL_CACHE[(n_fft, n_mels)]


def log_mel_distance(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """Multi-resolution log10-mel L1 distance between two waveforms ``[n]`` at 24 kHz."""
    total = 0.0
    for n_fft, n_mels in MEL_RESOLUTIONS:
        mel = _mel(n_fft, n_mels)
        a = torch.log10(mel(reference).clamp_min(1e-5))
        b = torch.log10(mel(estimate).clamp_min(1e-5))
        total += float((a - b).abs().mean())
    return total / len(MEL_RESOLUTIONS)


Embedder = Callable[[torch.Tensor], np.ndarray]  # wav [n] at 24 kHz -> embeddings [N, d]


@dataclass
class CodecEvaluation:
    """``rows``: per-file metrics; ``tokens``: per-codebook predictability of the accompaniment
    codes; ``fad``: ``{codebooks: FAD}`` of the decoded accompaniments (empty without an embedder)."""

    rows: list[dict] = field(default_factory=list)
    tokens: list[dict] = field(default_factory=list)
    fad: dict[int, float] = field(default_factory=dict)


@torch.no_grad()
def evaluate(
    codec,
    files: Iterable[tuple[str, str, torch.Tensor]],
    codebooks: tuple[int, ...] = CODEBOOKS,
    embed: Embedder | None = None,
    progress: bool = False,
) -> CodecEvaluation:
    """Evaluate ``codec`` on ``(track, stem, wav [n] at 24 kHz)`` files (see the module docstring)."""
    from hafm.tokenizers.reports.token_stats import predictability

    result = CodecEvaluation()
    accomp_codes, true_emb, coded_emb = [], [], {k: [] for k in codebooks}
    for track, stem, wav in tqdm(files, desc="codec eval", unit="stem", disable=not progress):
        codes = codec.encode(wav[None, None])
        accompaniment = stem == "accompaniment"
        if accompaniment:
            accomp_codes.append(codes[0].numpy())
            if embed is not None:
                true_emb.append(embed(wav))
        for k in codebooks:
            decoded = codec.decode(codes[:, :k])[0, 0, : len(wav)]
            result.rows.append({
                "track": track, "stem": stem, "codebooks": k,
                "si_snr_db": si_snr(wav, decoded), "log_mel_l1": log_mel_distance(wav, decoded),
            })
            if accompaniment and embed is not None:
                coded_emb[k].append(embed(decoded))
    if len(accomp_codes) >= 2:
        result.tokens = predictability(accomp_codes, codec.codebook_size)
    if true_emb:
        result.fad = {k: _fad(np.concatenate(true_emb), np.concatenate(coded_emb[k])) for k in codebooks}
    return result


def _fad(reference: np.ndarray, estimate: np.ndarray) -> float:
    from hafm.frechet import frechet_distance, gaussian_stats

    return frechet_distance(*gaussian_stats(reference, "reference"), *gaussian_stats(estimate, "decoded"))


def evaluate_files(
    codec,
    files: Iterable[tuple[str, str, torch.Tensor]],
    codebooks: tuple[int, ...] = CODEBOOKS,
    progress: bool = False,
) -> list[dict]:
    """Per-file rows ``{track, stem, codebooks, si_snr_db, log_mel_l1}`` for ``(track, stem, wav [n])``."""
    return evaluate(codec, files, codebooks, progress=progress).rows


def summarise(rows: list[dict]) -> list[dict]:
    """Rows ``{stem, metric, codebooks, value}``: means, worst file, files count, files better per doubling."""
    out = []
    for stem in sorted({r["stem"] for r in rows}):
        ks = sorted({r["codebooks"] for r in rows if r["stem"] == stem})
        by_k = {k: {r["track"]: r for r in rows if r["stem"] == stem and r["codebooks"] == k} for k in ks}
        for k in ks:
            files = by_k[k]
            out.append({"stem": stem, "metric": "files", "codebooks": k, "value": len(files)})
            for metric, sign in METRICS.items():
                values = [r[metric] for r in files.values()]
                worst = min(values) if sign > 0 else max(values)
                out.append({"stem": stem, "metric": metric, "codebooks": k, "value": sum(values) / len(values)})
                out.append({"stem": stem, "metric": f"{metric}_worst_file", "codebooks": k, "value": worst})
                if k // 2 in by_k and k % 2 == 0:
                    half = by_k[k // 2]
                    better = sum(sign * (files[t][metric] - half[t][metric]) > 0 for t in files if t in half)
                    out.append({"stem": stem, "metric": f"files_better_{metric}", "codebooks": k, "value": better})
    return out


def to_csv(summary: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["stem", "metric", "codebooks", "value"], lineterminator="\n")
    writer.writeheader()
    for row in summary:
        value = row["value"]
        writer.writerow({**row, "value": value if isinstance(value, int) else f"{value:.4f}"})
    return buffer.getvalue()


_REPORTED = [f"{prefix}{m}{suffix}" for m in METRICS
             for prefix, suffix in (("", ""), ("", "_worst_file"), ("files_better_", ""))]


def _cell(v: float | None) -> str:
    return "" if v is None else (f"{v}" if isinstance(v, int) else f"{v:.3f}")


def extras_markdown(evaluation: CodecEvaluation) -> list[str]:
    """Report lines for the FAD by codebooks and the token predictability of the accompaniment."""
    lines = []
    if evaluation.fad:
        lines += ["## FAD of the decoded accompaniment", "",
                  "`musicnn` (MTT_musicnn penultimate, 3 s windows every 0.5 s); reference = the same songs' "
                  "true accompaniment, so the true audio scores 0. Lower is better.", "",
                  "| codebooks | FAD |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in sorted(evaluation.fad.items())] + [""]
    if evaluation.tokens:
        lines += ["## Token predictability (accompaniment codes)", "",
                  "Repeat = share of frames with the previous frame's code. Cross-entropies in nats per token, "
                  "add-0.1 smoothing, cross-fitted over two halves of the files. A bigram well below the "
                  "unigram means codes a small LM can learn.", "",
                  "| codebook | repeat | unigram CE | bigram CE |", "|---|---|---|---|"]
        lines += [f"| {r['codebook']} | {r['repeat_rate']:.3f} | {r['unigram_ce']:.2f} | {r['bigram_ce']:.2f} |"
                  for r in evaluation.tokens]
        total = {key: sum(r[key] for r in evaluation.tokens) for key in ("unigram_ce", "bigram_ce")}
        lines += [f"| sum | | {total['unigram_ce']:.2f} | {total['bigram_ce']:.2f} |", ""]
    return lines


def to_markdown(summary: list[dict], header: dict[str, str]) -> str:
    """A report: provenance lines from ``header``, then one table per stem."""
    value = {(r["stem"], r["metric"], r["codebooks"]): r["value"] for r in summary}
    lines = ["# Acoustic codec: reconstruction by number of codebooks", ""]
    lines += [f"- {key}: {text}" for key, text in header.items()]
    lines += ["", "SI-SNR in dB (higher is better); log-mel L1 = multi-resolution log10-mel L1 (lower is better).",
              "'better vs k/2' counts the files strictly better than with half as many codebooks.", ""]
    for stem in sorted({r["stem"] for r in summary}):
        ks = sorted({r["codebooks"] for r in summary if r["stem"] == stem})
        lines += [f"## {stem}", "",
                  "| codebooks | kbps | files | SI-SNR mean | SI-SNR worst file | better vs k/2 "
                  "| log-mel L1 mean | log-mel L1 worst file | better vs k/2 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for k in ks:
            cells = {m: _cell(value.get((stem, m, k))) for m in _REPORTED}
            n = value[(stem, "files", k)]
            better = [cells[f"files_better_{m}"] and f"{cells[f'files_better_{m}']}/{n}" for m in METRICS]
            lines.append(
                f"| {k} | {0.75 * k:g} | {n} | {cells['si_snr_db']} | {cells['si_snr_db_worst_file']} | {better[0]} | "
                f"{cells['log_mel_l1']} | {cells['log_mel_l1_worst_file']} | {better[1]} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_report(summary: list[dict], header: dict[str, str], out_dir: str | Path, name: str = "codec",
                 evaluation: CodecEvaluation | None = None) -> None:
    """Write ``<out_dir>/<name>.md``, ``<name>.csv`` (and ``<name>.json`` with FAD and token
    predictability when ``evaluation`` has them) atomically."""
    from hafm.fileio import atomic_write_json

    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{name}.csv", to_csv(summary))
    header = {**header, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    extras = extras_markdown(evaluation) if evaluation is not None else []
    atomic_write_text(out_dir / f"{name}.md", to_markdown(summary, header) + "\n".join(extras))
    if evaluation is not None and (evaluation.fad or evaluation.tokens):
        atomic_write_json(out_dir / f"{name}.json", {"header": header, "fad": evaluation.fad,
                                                     "tokens": evaluation.tokens})


@torch.no_grad()
def phase_reconstruction(codec, clips: Iterable[torch.Tensor], iterations: tuple[int, ...] = (8, 16, 32, 64)
                         ) -> list[dict]:
    """How many Griffin-Lim iterations the log-magnitude codec needs.

    For each iteration count: the mean log-mel distance to the original of clips ``[n]`` (24 kHz)
    rebuilt from the codec's quantised magnitudes (all codebooks) and from unquantised ones, and
    the decoding speed (x real time on this machine, one process).
    """
    from hafm.tokenizers import rvq

    if getattr(getattr(codec, "transform", None), "name", "") != "logmag":
        raise ValueError("phase reconstruction applies to the log-magnitude codec only")
    totals: dict[tuple[int, str], list[float]] = {}  # (iterations, kind) -> [distance, seconds, audio s, clips]
    for wav in clips:
        sources = {"unquantised": codec.transform.analyze(wav[None]),
                   "quantised": rvq.decode(codec.encode(wav[None, None])[0].T, codec.codebooks)[None]}
        for n_iter in iterations:
            transform = dataclasses.replace(codec.transform, griffin_lim_iters=n_iter)
            for kind, frames in sources.items():
                start = time.perf_counter()
                out = transform.synthesize(frames)[0, : len(wav)]
                entry = totals.setdefault((n_iter, kind), [0.0, 0.0, 0.0, 0])
                entry[1] += time.perf_counter() - start
                entry[0] += log_mel_distance(wav, out)
                entry[2] += len(wav) / ACOUSTIC_SR
                entry[3] += 1
    return [{"iterations": n_iter, "magnitudes": kind, "log_mel_l1": distance / count,
             "x_realtime": audio_s / seconds}
            for (n_iter, kind), (distance, seconds, audio_s, count) in sorted(totals.items())]
