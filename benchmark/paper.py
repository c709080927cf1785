"""Paper-ready FAD output: wide LaTeX tables and vector figures, from the rows of ``fad_stats.json``.

``fad_latex``: one row per system (display names), one column group per embedding backend and one
column per target (accompaniment alone, vocal + accompaniment mix); cells "FAD [CI low, CI high]"
(``what="fad"``) or FAD-inf (``what="fad_inf"``, its own table: both in one would not fit a
two-column page), each with about 3 significant digits; a last row with the reference's
split-half FAD (the noise floor); booktabs rules, caption and label, in a ``table*`` (full text
width: by a character count, 2 backends x 2 targets of "124.9 [120.2, 129.1]" cells come to about
490 pt in \\small, under the ~510 pt of a two-column page; no LaTeX here to measure it). Needs
``\\usepackage{booktabs}``.

``fad_figure``: one panel per backend (rows) x target (columns), all on one y axis so bar heights
compare across panels, 95% CI error bars, and the reference split-half floor as a dashed line.
Written by ``hafm.paper.write_figure`` (shared with the listening-test figures): PDF and SVG
without timestamps (and with a fixed SVG id salt), so rebuilding the figures from the same
statistics gives identical files; fonts embedded as TrueType (Type 42), as many publishers require.

Display names: the system registry's (``benchmark.registry``) / ``BACKEND_NAMES`` /
``TARGET_NAMES``, overridden by ``stats["meta"]["display_names"]`` (what the run recorded, outside
systems included); unknown systems print their id with spaces for underscores.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.registry import display_names  # noqa: E402
from hafm.paper import FIGURE_FORMATS, latex_escape, latex_table, write_figure  # noqa: E402

BACKEND_NAMES = {"musicnn": "MusiCNN (MTT)", "musicnn_vgg": "MusiCNN-VGG (MSD)", "vggish": "VGGish",
                 "clap": "CLAP", "encodec": "EnCodec"}
TARGET_NAMES = {"accompaniment": "Accompaniment", "mix": "Mix"}


def display_name(system: str, stats: dict | None = None) -> str:
    """The name a paper prints for ``system``: the run's own display name, ours, or the id."""
    names = {**display_names(), **((stats or {}).get("meta", {}).get("display_names") or {})}
    return names.get(system, system.replace("_", " "))


def _groups(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(backend, target) pairs in their order of appearance in ``df``."""
    return list(dict.fromkeys(zip(df.backend, df.target, strict=True)))


def _decimals(value: float) -> int:
    """Decimals that give FAD about 3 significant digits: 1.71, 63.2, 125."""
    return 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0


def _cell(row: pd.Series | None, digits: int | None) -> str:
    """``value [low, high]``, all three with the decimals of the value (``digits`` if given)."""
    if row is None:
        return "--"
    d = _decimals(row.fad) if digits is None else digits
    return f"{row.fad:.{d}f} [{row.ci_low:.{d}f}, {row.ci_high:.{d}f}]"


def _value(value: float | None, digits: int | None) -> str:
    if value is None or pd.isna(value):
        return "--"
    return f"{value:.{_decimals(value) if digits is None else digits}f}"


def _caption(stats: dict, what: str) -> str:
    meta = stats.get("meta", {})
    cells = {"fad": r"Brackets: 95\% confidence interval, bootstrap over the "
                    f"{meta.get('n_songs', '?')} test songs ({meta.get('bootstrap', '?')} resamples).",
             "fad_inf": r"FAD$_\infty$: FAD extrapolated to infinitely many frames (fit of FAD against "
                        r"1/frames; fadtk's score\_inf)."}[what]
    return (r"Fr\'echet Audio Distance (lower is better) of each system to the reference set, per embedding "
            f"and target (accompaniment alone; vocal + accompaniment mix). {cells} Last row: FAD between two "
            "random halves of the reference (its noise floor). "
            f"Data: {latex_escape(meta.get('data', '?'))}; reference: {latex_escape(meta.get('reference', '?'))}.")


def fad_latex(df: pd.DataFrame, stats: dict, *, what: str = "fad", digits: int | None = None,
              label: str | None = None) -> str:
    """The wide table (see module doc) of ``what``: ``"fad"`` (cells "FAD [CI]") or ``"fad_inf"``
    (cells FAD-inf). ``df``: rows of ``fad_stats.json["fad"]`` in table order; ``digits``: fixed
    decimals (default: about 3 significant digits per cell); ``label`` default ``tab:<what>``."""
    if what not in ("fad", "fad_inf"):
        raise ValueError(f"what must be 'fad' or 'fad_inf', got {what!r}")
    groups = _groups(df)
    backends = list(dict.fromkeys(b for b, _ in groups))
    widths = {b: sum(1 for g in groups if g[0] == b) for b in backends}
    head, rules, col = [""], [], 2
    for b in backends:
        head.append(rf"\multicolumn{{{widths[b]}}}{{c}}{{{latex_escape(BACKEND_NAMES.get(b, b))}}}")
        rules.append(rf"\cmidrule(lr){{{col}-{col + widths[b] - 1}}}")
        col += widths[b]
    sub = ["System"] + [latex_escape(TARGET_NAMES.get(t, t)) for _, t in groups]
    indexed = df.set_index(["system", "backend", "target"])
    rows = []
    for system in dict.fromkeys(df.system):
        cells = [latex_escape(display_name(system, stats))]
        for backend, target in groups:
            row = indexed.loc[(system, backend, target)] if (system, backend, target) in indexed.index else None
            cells.append(_cell(row, digits) if what == "fad" else
                         _value(None if row is None else row.get("fad_inf"), digits))
        rows.append(" & ".join(cells) + r" \\")
    floor = stats.get("reference_split_half", {})
    floor_row = " & ".join(["Reference split-half floor"]
                           + [_value(floor.get(f"{b}/{t}"), digits) for b, t in groups]) + r" \\"
    header = [" & ".join(head) + r" \\", " ".join(rules), " & ".join(sub) + r" \\"]
    return latex_table(f"l{'c' * len(groups)}", header, [*rows, r"\midrule", floor_row],
                       caption=_caption(stats, what), label=label or "tab:" + what.replace("_", "-"), wide=True,
                       setup=[r"\setlength{\tabcolsep}{4pt}"])


def fad_figure(df: pd.DataFrame, stats: dict, stem: Path, formats: tuple[str, ...] = FIGURE_FORMATS) -> list[Path]:
    """``build_fad_figure`` written as ``stem.<format>`` for each format (``hafm.paper.write_figure``:
    no timestamps, a fixed SVG id salt); returns the paths."""
    return write_figure(lambda: build_fad_figure(df, stats), stem, salt="hafm-fad", formats=formats)


def build_fad_figure(df: pd.DataFrame, stats: dict) -> plt.Figure:
    """Bar charts of FAD with CIs: one panel per backend (row) x target (column), one shared y axis,
    the reference split-half floor as a dashed line where the run measured it."""
    groups = _groups(df)
    backends = list(dict.fromkeys(b for b, _ in groups))
    targets = list(dict.fromkeys(t for _, t in groups))
    fig, axes = plt.subplots(len(backends), len(targets), figsize=(3.5 * len(targets), 2.6 * len(backends)),
                             sharex=True, sharey=True, squeeze=False)
    for (backend, target), part in df.groupby(["backend", "target"], sort=False):
        _panel(axes[backends.index(backend)][targets.index(target)], part, stats, backend, target)
    for ax in axes[-1]:
        ax.tick_params(axis="x", rotation=40)
        plt.setp(ax.get_xticklabels(), ha="right")
    for row in axes:
        row[0].set_ylabel("FAD (lower is better)")
    with_floor = [ax for ax in axes.flat if ax.get_legend_handles_labels()[0]]
    if with_floor:  # one legend for the figure: every floor line looks the same
        with_floor[0].legend(loc="upper left", frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def _panel(ax, part: pd.DataFrame, stats: dict, backend: str, target: str) -> None:
    names = [display_name(s, stats) for s in part.system]
    err = [part.fad - part.ci_low, part.ci_high - part.fad]
    ax.bar(names, part.fad, yerr=err, capsize=2, color="#4c72b0", error_kw={"linewidth": 0.8})
    floor = stats.get("reference_split_half", {}).get(f"{backend}/{target}")
    if floor is not None:
        ax.axhline(floor, color="#c44e52", linestyle="--", linewidth=0.9, label="reference split-half floor")
    ax.set_title(f"{BACKEND_NAMES.get(backend, backend)} / {TARGET_NAMES.get(target, target)}", fontsize=8)
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    ax.set_axisbelow(True)
