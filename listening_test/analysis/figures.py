"""The analysis' figures, paper-ready: ``listening_preference`` and ``listening_ratings``, each as
PDF, SVG and PNG (``hafm.paper.write_figure``, as the benchmark's FAD figure: no timestamps, a
fixed SVG id salt, so the same results give byte-identical files; TrueType fonts).

Preference: one panel for the system pairs and one for the position-bias check (side A chosen),
on one shared 0-100 % axis with the 50 % chance line; bars are the pooled rates, black error bars
the rater-bootstrap 95 % CIs (the headline), grey ones the naive Wilson CIs.
Ratings: one panel per question, one bar per system (display names in the legend, one colour per
system in every panel) with t CIs across raters; when every question has the same scale the
panels share one y axis spanning it (``low``..``high``), else each panel spans its own question's.
Simulated results carry the SIMULATED banner as the figure's title.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hafm.paper import FIGURE_FORMATS, write_figure
from listening_test.analysis.config import display_name, order_systems
from listening_test.analysis.questions import RatingQuestion, scale_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from listening_test.analysis.study import StudyResult

SALT = "hafm-listening"  # SVG id salt of every figure of the analysis
SIMULATED_TITLE = "SIMULATED DATA (not a real study)"
CHANCE_LABEL = "chance (50%)"
_BAR = "#4c72b0"
_CHANCE = "#c44e52"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Figure, ax: Axes, simulated: bool, columns: int) -> None:
    """One legend for the figure (from ``ax``) under the panels; the SIMULATED banner above them."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=columns, frameon=False, fontsize=7)
    if simulated:
        fig.suptitle(SIMULATED_TITLE, fontsize=9, color="#c44e52")


def _preference_panel(ax: Axes, rows: pd.DataFrame, title: str) -> None:
    x = np.arange(len(rows))
    est = rows["estimate"].to_numpy() * 100
    ax.bar(x, est, color=_BAR, width=0.6, label="rate")
    ax.errorbar(x - 0.08, est, yerr=[est - rows["ci_low"] * 100, rows["ci_high"] * 100 - est], fmt="none",
                ecolor="black", capsize=3, elinewidth=0.8, label="95% CI, rater bootstrap")
    ax.errorbar(x + 0.08, est, yerr=[est - rows["wilson_low"] * 100, rows["wilson_high"] * 100 - est], fmt="none",
                ecolor="grey", capsize=2, elinewidth=0.8, label="95% CI, Wilson (naive)")
    ax.axhline(50, color=_CHANCE, linestyle="--", linewidth=0.9, label=CHANCE_LABEL)
    ax.set_xticks(x, [textwrap.fill(f"{display_name(r.system_x)} over {display_name(r.system_y)}", 18)
                      for r in rows.itertuples()])
    ax.set_title(title, fontsize=8)
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    ax.set_axisbelow(True)


def preference_figure(tests: pd.DataFrame, simulated: bool) -> Figure:
    """P(first system chosen) per pair, and side A chosen, on one 0-100 % axis (see module doc)."""
    panels = [(title, tests[tests["family"] == family])
              for title, family in (("Preference", "preference"), ("Position bias", "position"))]
    panels = [(title, rows) for title, rows in panels if len(rows)]
    widths = [len(rows) for _, rows in panels]
    fig, axes = _pyplot().subplots(1, len(panels), figsize=(1.3 * sum(widths) + 0.8, 3.2), sharey=True,
                                   squeeze=False, width_ratios=widths, layout="constrained")
    for ax, (title, rows) in zip(axes[0], panels, strict=True):
        _preference_panel(ax, rows, title)
    axes[0][0].set_ylim(0, 100)
    axes[0][0].set_ylabel("chosen (%)")
    _finish(fig, axes[0][0], simulated, columns=4)
    return fig


def _rating_panel(ax: Axes, part: pd.DataFrame, colours: dict[str, str]) -> None:
    x = np.arange(len(part))
    for i, (system, row) in enumerate(part.iterrows()):
        ax.bar(x[i], row["mean"], color=colours[system], width=0.7, label=display_name(system))
    ax.errorbar(x, part["mean"], yerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                fmt="none", ecolor="black", capsize=3, elinewidth=0.8)
    ax.set_xticks([])
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    ax.set_axisbelow(True)


def ratings_figure(means: pd.DataFrame, systems: list[str], simulated: bool,
                   questions: Sequence[RatingQuestion]) -> Figure:
    """Mean rating per question (panels) and system (bars) with 95 % t CIs (see module doc)."""
    asked = [q for q in questions if q.id in set(means["attribute"])]
    shared = len({(q.low, q.high) for q in asked}) == 1
    colours = {s: f"C{i}" for i, s in enumerate(systems)}
    fig, axes = _pyplot().subplots(1, len(asked), figsize=(0.35 * len(systems) * len(asked) + 1.6, 2.8),
                                   sharey=shared, squeeze=False, layout="constrained")
    for ax, q in zip(axes[0], asked, strict=True):
        part = means[means["attribute"] == q.id].set_index("system")
        _rating_panel(ax, part.loc[[s for s in systems if s in part.index]], colours)
        ax.set_ylim(q.low, q.high)
        ax.set_title(q.id.capitalize() if shared else f"{q.id.capitalize()} ({q.low}-{q.high})", fontsize=8)
    axes[0][0].set_ylabel(f"mean rating ({scale_text(asked)}), 95% CI" if shared else "mean rating, 95% CI")
    _finish(fig, axes[0][0], simulated, columns=min(len(systems), 3))
    return fig


def write_figures(result: StudyResult, out: Path, simulated: bool,
                  formats: Sequence[str] = FIGURE_FORMATS) -> list[Path]:
    """Both figures of ``result`` in ``out``, each in every format (default PDF, SVG, PNG); returns the paths."""
    systems = order_systems(result.mean_ratings["system"].unique().tolist())
    paths = write_figure(lambda: preference_figure(result.tests, simulated), out / "listening_preference",
                         salt=SALT, formats=formats)
    paths += write_figure(lambda: ratings_figure(result.mean_ratings, systems, simulated, result.questions),
                          out / "listening_ratings", salt=SALT, formats=formats)
    return paths
