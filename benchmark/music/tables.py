"""Benchmark tables of the music metrics: per system, song-bootstrap CIs and paired tests.

Reads the runner's ``per_clip.csv`` (one row per system x clip) and writes ``music.md``,
``music.csv``, ``music_paired.csv``, ``music.tex`` and ``music.pdf/.svg/.png`` (no audio, no models).
Systems appear in the registry's order (``benchmark.registry``) under their display names, as in
the FAD tables (``benchmark.paper.display_name``: the run's recorded names, the registry's, or the
id); the CSVs keep the ids.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.music.stats import paired_difference, song_mean_ci, song_means  # noqa: E402
from benchmark.paper import display_name, latex_escape  # noqa: E402
from benchmark.registry import order, pairs, rank  # noqa: E402
from hafm.fileio import atomic_write_text  # noqa: E402
from hafm.paper import write_figure  # noqa: E402

HEADLINES = ("harmony", "rhythm", "coherence", "tonality")
PARTS = ("consonance", "chord_tones", "key", "onset_f", "tempo", "rhythm_xcorr", "harmony_chroma")
DESCRIPTION = (
    "harmony: consonant share of accompaniment notes against the sung pitch (basic-pitch notes vs "
    "torchcrepe notes); rhythm: onset F-measure (mir_eval, 50 ms) of accompaniment vs vocal onsets "
    "(vocal onsets snapped to the audio's attacks, accompaniment onsets from basic-pitch's onset posterior); "
    "coherence: geometric mean of both after rescaling chance level to 0; tonality: HPSS harmonic "
    "energy share of the accompaniment (true chorales 0.97-0.99, white noise about 0.54). Parts: "
    "consonance, chord_tones (sung pitch class in the accompaniment), key (correlation of the "
    "two parts' Krumhansl key-strength profiles), "
    "onset_f, tempo (onset-periodicity correlation); rhythm_xcorr and harmony_chroma are the former "
    "audio proxies (onset-envelope cross-correlation, CQT-chroma cosine).")


def metric_columns(per_clip: pd.DataFrame) -> list[str]:
    return [c for c in (*HEADLINES, *PARTS) if c in per_clip.columns]


def summary(per_clip: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per system x metric: mean over songs, 95% song-bootstrap CI, songs, clips."""
    rows = []
    for system, part in per_clip.groupby("system"):
        for metric in metric_columns(per_clip):
            m = song_mean_ci(part[metric], part["track"], n_resamples=n_resamples, seed=seed)
            rows.append({"system": system, "metric": metric, "mean": m.mean, "ci_low": m.ci_low,
                         "ci_high": m.ci_high, "n_songs": m.n_songs, "n_clips": m.n_clips})
    frame = pd.DataFrame(rows)
    return frame.sort_values(["metric", "system"], key=lambda c: c.map(rank) if c.name == "system" else c)


def paired(per_clip: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Paired song-level differences A - B of every metric for the registry's pairs that were both run."""
    rows = []
    for a, b in pairs(per_clip["system"]):
        for metric in metric_columns(per_clip):
            means = {s: song_means(per_clip.loc[per_clip.system == s, metric],
                                   per_clip.loc[per_clip.system == s, "track"]) for s in (a, b)}
            d = paired_difference(means[a], means[b], n_resamples=n_resamples, seed=seed)
            rows.append({"a": a, "b": b, "metric": metric, "diff": d.diff, "ci_low": d.ci_low,
                         "ci_high": d.ci_high, "p_bootstrap": d.p_bootstrap, "p_wilcoxon": d.p_wilcoxon,
                         "n_songs": d.n_songs})
    return pd.DataFrame(rows)


def _cell(frame: pd.DataFrame, system: str, metric: str) -> str:
    row = frame[(frame.system == system) & (frame.metric == metric)]
    if row.empty:
        return "-"
    r = row.iloc[0]
    return f"{r['mean']:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"


def _verdict(a: str, b: str, ci_low: float, ci_high: float) -> str:
    return f"{a} higher" if ci_low > 0 else f"{b} higher" if ci_high < 0 else "no significant difference"


def _paired_markdown(pairs: pd.DataFrame, stats: dict | None) -> list[str]:
    lines = ["## Paired differences (A - B over songs)", "",
             "| A | B | metric | A - B [95% CI] | p (bootstrap) | p (Wilcoxon) | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in pairs[pairs.metric.isin(HEADLINES)].itertuples():
        a, b = display_name(r.a, stats), display_name(r.b, stats)
        lines.append(f"| {a} | {b} | {r.metric} | {r.diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] | "
                     f"{r.p_bootstrap:.3g} | {r.p_wilcoxon:.3g} | {_verdict(a, b, r.ci_low, r.ci_high)} |")
    return lines


def markdown(table: pd.DataFrame, pairs: pd.DataFrame, stats: dict | None = None) -> str:
    """``music.md``: the summary tables (headlines, parts) and the paired differences.

    ``stats``: the run's statistics, whose recorded display names win (``display_name``)."""
    systems = order(table.system)
    lines = ["# Music metrics of every system (vocal vs accompaniment; higher is better)", "", DESCRIPTION, "",
             "Mean over songs of per-song means, 95% CI: bootstrap over songs (1000 resamples). "
             "Validation of every metric: `metrics_validation.md`.", ""]
    for group in (HEADLINES, PARTS):
        metrics = [m for m in group if m in set(table.metric)]
        if not metrics:
            continue
        lines += ["| system | " + " | ".join(metrics) + " | songs |", "|---" * (len(metrics) + 2) + "|"]
        for s in systems:
            n = int(table[table.system == s].n_songs.max())
            cells = " | ".join(_cell(table, s, m) for m in metrics)
            lines.append(f"| {display_name(s, stats)} | {cells} | {n} |")
        lines.append("")
    if not pairs.empty:
        lines += _paired_markdown(pairs, stats)
    return "\n".join(lines) + "\n"


def latex(table: pd.DataFrame, stats: dict | None = None) -> str:
    """``music.tex``: one row per system (display names), the headline metrics as columns."""
    metrics = [m for m in HEADLINES if m in set(table.metric)]
    systems = order(table.system)
    rows = [r"\begin{tabular}{l" + "r" * len(metrics) + "}", r"\toprule",
            "System & " + " & ".join(m.capitalize() for m in metrics) + r" \\", r"\midrule"]
    for s in systems:
        cells = []
        for m in metrics:
            r = table[(table.system == s) & (table.metric == m)].iloc[0]
            cells.append(f"{r['mean']:.3f} [{r.ci_low:.2f}, {r.ci_high:.2f}]")
        rows.append(latex_escape(display_name(s, stats)) + " & " + " & ".join(cells) + r" \\")
    return "\n".join(rows + [r"\bottomrule", r"\end{tabular}"]) + "\n"


def figure(table: pd.DataFrame, stem: Path, stats: dict | None = None) -> list[Path]:
    """``music.pdf/.svg/.png``: one panel per headline metric on one shared 0-1 axis, bars in table
    order labelled with display names, 95% CIs as error bars."""
    def build() -> plt.Figure:
        metrics = [m for m in HEADLINES if m in set(table.metric)]
        fig, axes = plt.subplots(1, len(metrics), figsize=(2.4 * len(metrics), 2.6), squeeze=False, sharey=True)
        for ax, metric in zip(axes[0], metrics):
            part = table[table.metric == metric].set_index("system")
            part = part.loc[order(part.index)].reset_index()
            err = [part["mean"] - part.ci_low, part.ci_high - part["mean"]]
            ax.bar([display_name(s, stats) for s in part.system], part["mean"], yerr=err, capsize=2,
                   color="#55a868")
            ax.set_title(metric)
            ax.set_ylim(0, 1)
            ax.tick_params(axis="x", rotation=60)
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
        fig.tight_layout()
        return fig

    return write_figure(build, stem, salt="hafm-music")


def write_music_tables(out: str | Path, per_clip: pd.DataFrame, stats: dict | None = None) -> list[Path]:
    """The music tables of a run; nothing (and no error) when ``per_clip`` lacks the music columns.

    ``stats``: the run's statistics (``fad_stats.json``), for the display names it recorded."""
    if "harmony" not in per_clip.columns or "consonance" not in per_clip.columns:
        return []
    out = Path(out)
    table, pairs = summary(per_clip), paired(per_clip)
    paths = [out / n for n in ("music.md", "music.csv", "music_paired.csv", "music.tex")]
    atomic_write_text(paths[0], markdown(table, pairs, stats))
    atomic_write_text(paths[1], table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(paths[2], pairs.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(paths[3], latex(table, stats))
    return paths + figure(table, out / "music", stats)
