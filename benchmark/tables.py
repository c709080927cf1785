"""Tables and figures from a benchmark run's cached statistics (no audio, no models: seconds).

Inputs (written by the runner under ``<out>/stats/``, committed: ``benchmark.stats_files``):
``fad_stats.json`` and ``per_clip.csv``; system order from ``benchmark.registry``.
Outputs in ``<out>/``: ``fad.md``, ``fad.csv``, ``fad.tex``, ``fad_inf.tex`` and
``fad.pdf``/``.svg``/``.png`` (paper-ready: ``benchmark.paper``), ``proxies.csv``,
``proxies.md``, ``per_song_fad.csv``, ``paper_comparison.md``, and the music metrics' ``music.*``
(``benchmark.music.tables``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.paper import fad_figure, fad_latex
from benchmark.registry import rank
from benchmark.stats_files import read_stats
from hafm.fileio import atomic_write_text

FAD_COLUMNS = ["system", "backend", "target", "fad", "ci_low", "ci_high", "n_clips"]
PAPER = {"three_stage": 1.71, "two_stage": 2.10}  # paper, Table: FAD on MUSDB18 (VGGish assumed)


def _order(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["backend", "target", "system"], key=lambda c: c.map(rank) if c.name == "system" else c)


def fad_frame(stats: dict) -> pd.DataFrame:
    df = pd.DataFrame(stats["fad"])
    return _order(df)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, df.to_csv(index=False, float_format="%.6g"))


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def fad_markdown(df: pd.DataFrame, stats: dict) -> str:
    lines = ["# FAD of every system (lower is better)", "",
             f"Data: {stats['meta'].get('data', '?')}; clips: {stats['meta'].get('n_clips', '?')} x "
             f"{stats['meta'].get('clip_seconds', '?')} s from {stats['meta'].get('n_songs', '?')} test songs; "
             f"reference: {stats['meta'].get('reference', '?')}. 95% CI: bootstrap over songs "
             f"({stats['meta'].get('bootstrap', '?')} resamples). FAD-inf: extrapolation in 1/n (fadtk).", ""]
    for (backend, target), part in df.groupby(["backend", "target"], sort=False):
        lines += [f"## backend `{backend}`, target `{target}`", "",
                  "| system | FAD | 95% CI | FAD-inf | clips |", "|---|---|---|---|---|"]
        for r in part.itertuples():
            inf = _fmt(r.fad_inf) if "fad_inf" in part and pd.notna(r.fad_inf) else "-"
            lines.append(f"| {r.system} | {_fmt(r.fad)} | [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {inf} "
                         f"| {r.n_clips} |")
        floor = stats.get("reference_split_half", {}).get(f"{backend}/{target}")
        if floor is not None:
            lines.append(f"\nReference split-half FAD (noise floor): {_fmt(floor)}")
        lines.append("")
    for d in stats.get("paired", []):
        verdict = (f"{d['a']} closer to the reference" if d["ci_high"] < 0
                   else f"{d['b']} closer to the reference" if d["ci_low"] > 0 else "no significant difference")
        lines.append(f"- Paired bootstrap FAD({d['a']}) - FAD({d['b']}), `{d['backend']}`/`{d['target']}`: "
                     f"{_fmt(d['diff'])} [{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}] -> {verdict}")
    if stats.get("warnings"):
        lines += ["", "Notes:"] + [f"- {w}" for w in stats["warnings"]]
    return "\n".join(lines) + "\n"


def paper_comparison(df: pd.DataFrame, stats: dict) -> str:
    lines = ["# Side by side with the paper (NOT comparable numbers)", "",
             "The paper reports FAD on MUSDB18 with an unpublished embedding/reference protocol. Ours use "
             f"other data ({stats['meta'].get('data', '?')}) and other embeddings; compare orderings and "
             "ratios, not values.", "",
             "| system | paper FAD | ours (backend/target): FAD [95% CI] |", "|---|---|---|"]
    for system, value in PAPER.items():
        ours = df[df.system == system]
        cells = "; ".join(f"{r.backend}/{r.target}: {_fmt(r.fad)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
                          for r in ours.itertuples()) or "not run"
        lines.append(f"| {system} | {value} | {cells} |")
    lines += ["", f"Paper ratio two-stage / three-stage: {PAPER['two_stage'] / PAPER['three_stage']:.3f}."]
    for (backend, target), part in df.groupby(["backend", "target"], sort=False):
        s = part.set_index("system").fad
        if {"three_stage", "two_stage"} <= set(s.index) and s["three_stage"] > 0:
            lines.append(f"Ours ({backend}/{target}): {s['two_stage'] / s['three_stage']:.3f}.")
    return "\n".join(lines) + "\n"


PROXY_COLUMNS = {"rhythm_xcorr": "rhythm: max normalised cross-correlation of onset envelopes within +-100 ms",
                 "harmony_chroma": "harmony: vocal-energy-weighted CQT-chroma cosine",
                 "tonality": "tonality: HPSS harmonic share of the accompaniment's spectral energy"}


def proxies_tables(per_clip: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Mean +- s.e. of the audio proxies per system (runs before the music metrics named them
    ``rhythm``/``harmony``)."""
    if "rhythm_xcorr" not in per_clip.columns:
        per_clip = per_clip.rename(columns={"rhythm": "rhythm_xcorr", "harmony": "harmony_chroma"})
    columns = [c for c in PROXY_COLUMNS if c in per_clip.columns]
    summary = per_clip.groupby("system")[columns].agg(["mean", "sem", "count"]).reset_index()
    summary.columns = ["system"] + [f"{a}_{b}" for a, b in summary.columns[1:]]
    lines = ["# Audio proxies (vocal vs accompaniment, higher is better)", "",
             "; ".join(PROXY_COLUMNS[c] for c in columns) + ". The note-based rhythm, harmony and "
             "coherence metrics are in `music.md`.", "",
             "| system | " + " | ".join(f"{c} (mean +- s.e.)" for c in columns) + " | clips |",
             "|---" * (len(columns) + 2) + "|"]
    for r in summary.to_dict("records"):
        cells = " | ".join(f"{r[c + '_mean']:.3f} +- {r[c + '_sem']:.3f}" for c in columns)
        lines.append(f"| {r['system']} | {cells} | {r[columns[0] + '_count']} |")
    return summary, "\n".join(lines) + "\n"


def write_tables(out: str | Path) -> list[Path]:
    """Rebuild every table and figure in ``out`` from ``out/stats``; returns the paths written."""
    out = Path(out)
    stats, per_clip = read_stats(out)
    df = fad_frame(stats)
    written = [out / n for n in ("fad.csv", "fad.md", "fad.tex", "fad.png", "paper_comparison.md",
                                 "per_song_fad.csv", "proxies.csv", "proxies.md")]
    _write_csv(df[FAD_COLUMNS], written[0])
    atomic_write_text(written[1], fad_markdown(df, stats))
    atomic_write_text(written[2], fad_latex(df, stats))
    if "fad_inf" in df and df.fad_inf.notna().any():
        written.append(out / "fad_inf.tex")
        atomic_write_text(written[-1], fad_latex(df, stats, what="fad_inf"))
    written += [p for p in fad_figure(df, stats, written[3].with_suffix("")) if p not in written]
    atomic_write_text(written[4], paper_comparison(df, stats))
    _write_csv(pd.DataFrame(stats.get("per_song", [])), written[5])
    _write_csv(per_clip, written[6])
    atomic_write_text(written[7], proxies_tables(per_clip)[1])
    from benchmark.music.tables import write_music_tables

    return written + write_music_tables(out, per_clip, stats)
