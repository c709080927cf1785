"""``results/metrics_validation.md`` and its figures, from the validation rows (seconds, no models).

Reads ``<out>/_cache/metrics_validation.csv`` (``benchmark.music.validate``) and
``<out>/metrics_fit.json`` (``benchmark.music.fit``). Every number in the report is computed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.music.report_checks import done_when, paired_rows, truth_correlation  # noqa: E402
from benchmark.music.stats import song_mean_ci  # noqa: E402
from hafm.fileio import atomic_path, atomic_write_text  # noqa: E402

METRICS = ("harmony", "rhythm", "coherence", "consonance", "chord_tones", "key", "onset_f", "tempo")
PROXIES = ("harmony_chroma", "rhythm_xcorr", "tonality")
FAMILIES = ("transpose", "shift", "tempo", "codec")
FAMILY_AXIS = {"transpose": "transposition (semitones)", "shift": "time shift (ms)",
               "tempo": "tempo warp (slower by x)", "codec": "codec codebooks (orig = undamaged)"}


def condition_means(rows: pd.DataFrame, columns: tuple[str, ...], n_resamples: int = 1000) -> pd.DataFrame:
    """Song-bootstrap mean and CI of each column per (source, condition)."""
    out = []
    for (source, cond), part in rows.groupby(["source", "condition"], sort=False):
        for col in columns:
            if col not in part or part[col].isna().all():
                continue
            m = song_mean_ci(part[col], part["track"], n_resamples=n_resamples)
            out.append({"source": source, "condition": cond, "family": part.family.iloc[0],
                        "level": part.level.iloc[0], "metric": col, "mean": m.mean, "ci_low": m.ci_low,
                        "ci_high": m.ci_high, "n_songs": m.n_songs})
    return pd.DataFrame(out)


def _curve(means: pd.DataFrame, source: str, family: str, metric: str) -> pd.DataFrame:
    part = means[(means.source == source) & (means.metric == metric)]
    ref = part[part.family == "reference"].assign(level=0.0 if family != "tempo" else 1.0)
    if family == "codec":
        ref = ref.assign(level=0.0)
    return pd.concat([ref, part[part.family == family]]).sort_values("level")


def sensitivity_figure(means: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    """Grid: one row per metric, one column per damage family; transcribed (solid, CI) and true (dashed);
    horizontal lines: another song's accompaniment (red) and white noise (grey)."""
    fig, axes = plt.subplots(len(columns), len(FAMILIES), figsize=(3.2 * len(FAMILIES), 2.0 * len(columns)),
                             squeeze=False, sharey="row")
    for i, metric in enumerate(columns):
        for j, family in enumerate(FAMILIES):
            ax = axes[i][j]
            for source, style in (("transcribed", "-o"), ("true", "--")):
                c = _curve(means, source, family, metric)
                if c.empty:
                    continue
                x = np.arange(len(c)) if family == "codec" else c.level
                ax.plot(x, c["mean"], style, ms=3, color="#4c72b0" if source == "transcribed" else "#888888",
                        label=source)
                if source == "transcribed":
                    ax.fill_between(x, c.ci_low, c.ci_high, alpha=0.2, color="#4c72b0")
                if family == "codec":
                    ax.set_xticks(np.arange(len(c)), [("orig" if lv == 0 else str(int(lv))) for lv in c.level])
            for cond, colour in (("other_song", "#c44e52"), ("noise", "#999999")):
                v = means[(means.source == "transcribed") & (means.metric == metric) & (means.condition == cond)]
                if not v.empty:
                    ax.axhline(v["mean"].iloc[0], color=colour, lw=0.8, ls=":")
            if i == 0:
                ax.set_title(FAMILY_AXIS[family], fontsize=8)
            if j == 0:
                ax.set_ylabel(metric, fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def truth_figure(rows: pd.DataFrame, path: Path) -> None:
    """Scatter per metric: value from true notes (x) vs from transcriptions (y), pooled conditions."""
    from benchmark.music.report_checks import truth_pairs

    pairs = truth_pairs(rows)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6))
    for ax, metric in zip(axes.flat, METRICS):
        ax.scatter(pairs[f"{metric}_true"], pairs[f"{metric}_transcribed"], s=3, alpha=0.3)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.7)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("from true notes", fontsize=7)
        ax.set_ylabel("from transcriptions", fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_report(out: str | Path) -> list[Path]:
    from benchmark.music.report_text import report_markdown

    out = Path(out)
    rows = pd.read_csv(out / "_cache" / "metrics_validation.csv")
    fit_path = out / "metrics_fit.json"
    fit = json.loads(fit_path.read_text()) if fit_path.exists() else None
    means = condition_means(rows, METRICS + PROXIES)
    paths = [out / n for n in ("metrics_validation.md", "metrics_validation.csv",
                               "metrics_validation_sensitivity.png", "metrics_validation_proxies.png",
                               "metrics_validation_truth.png")]
    checks, corr, paired = done_when(rows), truth_correlation(rows), paired_rows(rows)
    atomic_write_text(paths[0], report_markdown(rows, means, fit, checks, corr, paired))
    atomic_write_text(paths[1], means.to_csv(index=False, float_format="%.6g"))
    sensitivity_figure(means, ("harmony", "rhythm", "coherence", "chord_tones", "key", "tempo"), paths[2])
    sensitivity_figure(means, PROXIES, paths[3])
    truth_figure(rows, paths[4])
    return paths
