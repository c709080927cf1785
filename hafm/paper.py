"""Paper-ready output shared by the benchmark (``benchmark.paper``) and the listening-test analysis
(``listening_test.analysis.figures``, ``report``).

``write_figure`` builds a matplotlib figure under one style and writes it as PDF, SVG and PNG:
PDF and SVG without timestamps and with a fixed SVG id salt, so rebuilding a figure from the same
numbers gives byte-identical files; fonts embedded as TrueType (Type 42), as many publishers
require, and SVG text kept as text. ``latex_escape`` and ``latex_table`` (a booktabs table with
caption and label; needs ``\\usepackage{booktabs}``) write LaTeX.

matplotlib is imported when a figure is written, not at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hafm.fileio import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURE_FORMATS = ("pdf", "svg", "png")
# Type 42 (TrueType) fonts in PDFs, text kept as text in SVGs; the SVG id salt is added per figure kind
PAPER_STYLE = {"pdf.fonttype": 42, "svg.fonttype": "none", "font.size": 8}
# What would put the time of writing into a file: left out
_NO_DATES = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"$<$", ">": r"$>$"}


def write_figure(build: Callable[[], Figure], stem: Path, *, salt: str,
                 formats: Sequence[str] = FIGURE_FORMATS, dpi: int = 150) -> list[Path]:
    """``build()`` run under ``PAPER_STYLE`` (SVG ids salted with ``salt``), the figure written as
    ``stem.<format>`` for each format (atomically, no timestamps) and closed; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({**PAPER_STYLE, "svg.hashsalt": salt}):
        fig = build()
        try:
            paths = [stem.with_suffix(f".{fmt}") for fmt in formats]
            for path, fmt in zip(paths, formats, strict=True):
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_NO_DATES.get(fmt))
        finally:
            plt.close(fig)
    return paths


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``<``/``>`` as math symbols)."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def latex_table(columns: str, head: Sequence[str], body: Sequence[str], *, caption: str, label: str,
                wide: bool = False, setup: Sequence[str] = (), comments: Sequence[str] = ()) -> str:
    """A booktabs table: ``comments`` as ``%`` lines, then the float (``table*`` when ``wide``) with
    ``caption`` (LaTeX, escaped by the caller) and ``label`` above the tabular, ``setup`` lines
    (e.g. ``\\setlength{\\tabcolsep}{4pt}``), the ``head`` lines, a rule and the ``body`` lines."""
    env = "table*" if wide else "table"
    lines = [*(f"% {c}" for c in comments), rf"\begin{{{env}}}[t]", r"\centering", r"\small",
             rf"\caption{{{caption}}}", rf"\label{{{label}}}", *setup, rf"\begin{{tabular}}{{{columns}}}",
             r"\toprule", *head, r"\midrule", *body, r"\bottomrule", r"\end{tabular}", rf"\end{{{env}}}"]
    return "\n".join(lines) + "\n"
