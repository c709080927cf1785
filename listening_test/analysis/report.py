"""Writes a study's results: tables (md, csv, tex), figures (pdf, svg, png), power note, provenance.

Results built from simulated data carry a banner in every Markdown/TeX file and figure, a
``simulated`` column in every CSV, and ``"simulated": true`` in the provenance; they can only be
written to a folder whose name says "simulated", and a folder never receives both kinds.

The Markdown and CSV tables keep every column (naive binomial and Wilson, GEE, test names) and the
system ids; ``listening_table.tex`` is the paper's table (``to_tex``: display names, caption, label,
through ``hafm.paper`` like the benchmark's ``fad.tex``); the figures: ``figures``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hafm.fileio import atomic_write_json, atomic_write_text
from hafm.paper import latex_escape, latex_table
from listening_test.analysis.config import SYSTEM_NAMES, display_name
from listening_test.analysis.figures import write_figures
from listening_test.analysis.questions import RatingQuestion, scale_text
from listening_test.analysis.schema import ExportError
from listening_test.analysis.study import StudyResult

BANNER = "SIMULATED DATA: not a listening study; produced by `listening_test simulate` for checking the analysis."
PROVENANCE = "listening_provenance.json"


def check_output_dir(out: Path, simulated: bool) -> None:
    """Refuse to put simulated results among real ones (or the reverse)."""
    if simulated and "simulated" not in out.resolve().name.lower():
        raise ExportError(f"simulated data must be written to a folder whose name contains 'simulated' "
                          f"(e.g. results/listening_simulated/), not {os.fspath(out)!r}")
    previous = out / PROVENANCE
    if previous.exists():
        try:
            earlier = bool(json.loads(previous.read_text())["simulated"])
        except (ValueError, KeyError) as err:
            raise ExportError(f"{previous} is unreadable ({err}); remove it or choose another folder") from err
        if earlier != simulated:
            kinds = ("real", "simulated")
            raise ExportError(f"{os.fspath(out)!r} holds {kinds[earlier]} results; refusing to add "
                              f"{kinds[simulated]} ones. Choose another folder.")


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_num(x: float, digits: int = 2) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_ci(low: float, high: float, percent: bool) -> str:
    if any(v is None or math.isnan(v) for v in (low, high)):
        return ""
    return f"[{100 * low:.1f}, {100 * high:.1f}]" if percent else f"[{low:.2f}, {high:.2f}]"


def _measure(row: pd.Series) -> str:
    if row["family"] == "preference":
        return f"preference {row['system_x']} over {row['system_y']}"
    if row["family"] == "position":
        return "position bias: side A chosen"
    if row["family"] == "friedman":
        return f"{row['attribute']}: Friedman across {row['system_x'].replace(',', ', ')}"
    return f"{row['attribute']}: {row['system_x']} minus {row['system_y']}"


def display_table(tests: pd.DataFrame) -> pd.DataFrame:
    """The paper-style table: one formatted row per test (strings)."""
    rows = []
    for _, t in tests.iterrows():
        percent = t["family"] in ("preference", "position")
        rows.append({
            "measure": _measure(t),
            "estimate": f"{100 * t['estimate']:.1f}%" if percent else fmt_num(t["estimate"]),
            "95% CI": fmt_ci(t["ci_low"], t["ci_high"], percent),
            "CI method": t["ci_method"],
            "p": fmt_p(t["p_value"]),
            "test": t["p_method"],
            "p (Holm)": fmt_p(t["p_holm"]),
            "p exact binomial (naive)": fmt_p(t["p_binomial"]),
            "Wilson 95% CI (naive)": fmt_ci(t["wilson_low"], t["wilson_high"], True) if percent else "",
            "p GEE (side-adjusted)": fmt_p(t["p_gee"]),
            "effect size": "" if pd.isna(t["effect_size"]) else f"{fmt_num(t['effect_size'])} ({t['effect_kind']})",
            "raters": str(int(t["n_raters"])),
            "judgments": str(int(t["n_judgments"])),
            "paper": t["paper_value"],
            "note": t["note"],
        })
    table = pd.DataFrame(rows)
    return table if (table["note"] != "").any() else table.drop(columns="note")


def to_markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |" for row in table.to_numpy()]
    return "\n".join([head, rule, *body]) + "\n"


TEX_LABEL = "tab:listening"
TEX_COLUMNS = ("Comparison", "Estimate", r"95\% CI", "$p$", "$p$ (Holm)", "Effect", "Raters", "$n$")
_EFFECT_TEX = {"Cohen's h": r"Cohen's $h$", "rank-biserial": r"rank-biserial $r$", "Kendall's W": r"Kendall's $W$"}
_METHOD_GROUPS = {"preference": "preference", "position": "position bias", "ratings": "rating differences",
                  "friedman": "Friedman"}


def _named(text: str) -> str:
    """``text`` with every system id in it replaced by its display name."""
    return re.sub(r"[A-Za-z0-9_]+", lambda m: SYSTEM_NAMES.get(m.group(), m.group()), text)


def _tex_cell(text: str) -> str:
    """A formatted number, CI or p for LaTeX: escaped, real minus signs, ``--`` when empty."""
    return latex_escape(text).replace("-", "$-$") if text else "--"


def _tex_row(t: pd.Series, comparison: str, marks: dict[str, str]) -> str:
    """One test as a table row; ``comparison``: the first cell, LaTeX."""
    percent = t["family"] in ("preference", "position")
    estimate = fmt_num(100 * t["estimate"], 1) + "%" if percent and pd.notna(t["estimate"]) else fmt_num(t["estimate"])
    mark = rf"\textsuperscript{{{marks[t['paper_value']]}}}" if t["paper_value"] else ""
    cells = [estimate, fmt_ci(t["ci_low"], t["ci_high"], percent), fmt_p(t["p_value"]), fmt_p(t["p_holm"]),
             fmt_num(t["effect_size"])]
    counts = [str(int(t["n_raters"])), str(int(t["n_judgments"]))]
    return " & ".join([comparison + mark, *map(_tex_cell, cells), *counts]) + r" \\"


def _tex_heading(text: str, rows: pd.DataFrame) -> str:
    """A section row spanning the table: ``text`` and the effect size its rows report."""
    kind = rows["effect_kind"].iloc[0]
    effect = _EFFECT_TEX.get(kind, latex_escape(kind))
    return rf"\multicolumn{{{len(TEX_COLUMNS)}}}{{l}}{{\emph{{{text} (effect: {effect})}}}} \\"


def _pair(t: pd.Series, between: str) -> str:
    """``X <between> Y`` in display names (LaTeX)."""
    return f"{latex_escape(display_name(t['system_x']))} {between} {latex_escape(display_name(t['system_y']))}"


def _tex_body(tests: pd.DataFrame, questions: Sequence[RatingQuestion], marks: dict[str, str]) -> list[str]:
    """Rows grouped under headings: preference pairs, each question's paired differences, Friedman, position."""
    scales = {q.id: f", {q.low}--{q.high}" for q in questions}
    family = tests["family"]
    sections = [("Preference: first system chosen", tests[family == "preference"], lambda t: _pair(t, "over"))]
    for attr in dict.fromkeys(tests.loc[family == "ratings", "attribute"]):
        sections.append((f"{latex_escape(attr.capitalize())}{scales.get(attr, '')}: mean difference in points",
                         tests[(family == "ratings") & (tests["attribute"] == attr)], lambda t: _pair(t, "$-$")))
    friedman = tests[family == "friedman"]
    if len(friedman):
        n_systems = len(friedman["system_x"].iloc[0].split(","))
        sections.append((rf"Friedman $\chi^2$ across the {n_systems} systems", friedman,
                         lambda t: latex_escape(t["attribute"].capitalize())))
    sections.append(("Position bias", tests[family == "position"], lambda t: "Side A chosen"))
    body = []
    for text, rows, comparison in sections:
        if len(rows):
            body += [_tex_heading(text, rows), *(_tex_row(t, comparison(t), marks) for _, t in rows.iterrows())]
    return body


def _tex_caption(tests: pd.DataFrame, simulated: bool, marks: dict[str, str]) -> str:
    """Who was tested, how each family's CI and p were computed, Holm, and the paper's values."""
    methods: dict[tuple[str, str], list[str]] = {}
    for name, rows in tests.groupby("family", sort=False):
        first = rows.iloc[0]
        methods.setdefault((first["ci_method"], first["p_method"]), []).append(_METHOD_GROUPS.get(name, name))
    parts = [("SIMULATED DATA. " if simulated else "")
             + f"Listening test: forced-choice preference and ratings ({int(tests['n_raters'].max())} raters "
             "after screening; ratings averaged per rater first)."]
    for (ci, p), names in methods.items():
        how = [f"95\\% CI by {latex_escape(ci)}" if ci else "", f"$p$ by {latex_escape(p)}"]
        parts.append(f"{latex_escape(' and '.join(names)).capitalize()}: " + ", ".join(h for h in how if h) + ".")
    parts.append(f"$p$ (Holm): Holm's correction over all {int(tests['p_value'].notna().sum())} tests together. "
                 "$n$: judgments (preference), individual ratings (ratings).")
    if tests["p_value"].isna().any():
        parts.append("--: not tested (too few raters).")
    if marks:
        parts.append("Reported by the paper: " + "; ".join(
            f"({mark}) {latex_escape(_named(value))}" for value, mark in marks.items()) + ".")
    return " ".join(parts)


def to_tex(tests: pd.DataFrame, questions: Sequence[RatingQuestion], simulated: bool) -> str:
    """The paper's table (``listening_table.tex``): a ``table*`` with caption, label ``tab:listening``
    and display names; one row per test, grouped by family and question, paper values as footnote
    marks explained in the caption, methods per family in the caption (``hafm.paper.latex_table``, as
    the benchmark's ``fad.tex``). The naive binomial/Wilson and GEE columns stay in the Markdown/CSV."""
    values = [v for v in dict.fromkeys(tests["paper_value"]) if v]
    marks = {value: "abcdefghijklmnopqrstuvwxyz"[i % 26] for i, value in enumerate(values)}
    comments = [BANNER if simulated else "Generated by `listening_test analyze`.", r"Needs \usepackage{booktabs}."]
    return latex_table("lrcrrrrr", [" & ".join(TEX_COLUMNS) + r" \\"], _tex_body(tests, questions, marks),
                       caption=_tex_caption(tests, simulated, marks), label=TEX_LABEL, wide=True,
                       setup=[r"\setlength{\tabcolsep}{4pt}"], comments=comments)


def _with_flag(frame: pd.DataFrame, simulated: bool) -> pd.DataFrame:
    return frame.assign(simulated=int(simulated))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def power_note(result: StudyResult, alpha: float, power_target: float) -> str:
    lines = [
        "## Power note",
        "",
        ("Method: normal approximation with a design effect (not simulation), Student t with G-1 "
         "degrees of freedom (G raters). Preference: variance of the pooled rate "
         "p(1-p)(1+(m-1)rho)/(G m), m = judgments per rater and pair, rho = within-rater correlation "
         "of the choice. Ratings: paired Wilcoxon as a t test on G*3/pi raters (asymptotic relative "
         "efficiency), d = mean/sd of the per-rater differences. "
         "`results/listening_calibration.md` compares these predictions with simulated studies."),
        "",
        (f"This study: m = {fmt_num(result.judgments_per_rater, 1)} judgments per rater and pair, "
         f"estimated rho = {fmt_num(result.icc_preference, 3)} (one-way ANOVA estimator, clipped at 0), "
         f"so DEFF = {fmt_num(1 + (result.judgments_per_rater - 1) * max(result.icc_preference, 0.0), 2)}."),
        (f"Raters needed for power {power_target:.2f} (two-sided), at alpha = {alpha} and at Holm's worst case "
         "alpha/k (k = number of tests in the family):"),
        "",
        "",
    ]
    table = result.power.copy()
    table["alpha"] = table["alpha"].map(lambda a: f"{a:.4f}")
    table["raters_needed"] = table["raters_needed"].map(
        lambda g: "> 100000" if g is None or pd.isna(g) else str(int(g)))
    table = table[["measure", "effect", "level", "alpha", "raters_needed"]]
    return "\n".join(lines) + to_markdown(table)


def screening_markdown(result: StudyResult) -> str:
    s = result.screening
    rows = pd.DataFrame([
        {"": "raters", "before screening": s.raters_before, "after screening": s.raters_after},
        {"": "judgments (non-catch trials)", "before screening": s.judgments_before,
         "after screening": s.judgments_after},
    ])
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(s.failures_by_kind.items())) or "none"
    return ("## Rater screening (catch trials)\n\n" + to_markdown(rows) +
            f"\nCatch trials: {s.catch_trials}, failed: {s.catch_failed} ({kinds}). "
            f"Excluded raters: {len(s.excluded)} (of whom {s.excluded_headphones} for a failed headphone check). "
            f"Raters kept without any catch trial: {s.unscreened}.\n")


def summary_markdown(
    result: StudyResult, table: pd.DataFrame, simulated: bool, alpha: float, power_target: float
) -> str:
    means = result.mean_ratings.copy()
    means["95% CI"] = [fmt_ci(lo, hi, False) for lo, hi in zip(means["ci_low"], means["ci_high"])]
    means["mean"] = means["mean"].map(fmt_num)
    agree = result.agreement.copy()
    agree["alpha"] = agree["alpha"].map(lambda a: fmt_num(a, 3))
    parts = [f"> **{BANNER}**\n" if simulated else "",
             "# Listening test results\n",
             ("Headline preference p-values are rater-clustered (pooled rate, CR1 sandwich SE, t with G-1 df) "
              "and CIs are rater-bootstrap (expanded percentile); the exact binomial test and the Wilson CI "
              "treat judgments as independent and are shown for comparison only. The GEE column is a "
              "position-adjusted sensitivity analysis (exchangeable within rater, bias-reduced SE, t). "
              "Ratings are averaged per rater first; paired tests are Wilcoxon signed-rank with Pratt's "
              "treatment of zero differences; for rating rows 'judgments' counts the individual ratings. "
              f"Holm's correction runs over every p in the table together (alpha = {alpha}).\n"),
             screening_markdown(result),
             "## Tests\n", to_markdown(table),
             f"\n## Mean ratings ({scale_text(result.questions)})\n",
             to_markdown(means[["system", "attribute", "mean", "95% CI", "raters", "ratings"]]),
             "\n## Inter-rater agreement (Krippendorff's alpha)\n", to_markdown(agree),
             "\n" + power_note(result, alpha, power_target)]
    return "\n".join(parts)


def write_results(result: StudyResult, out: str | os.PathLike, simulated: bool, provenance: dict,
                  alpha: float, power_target: float) -> list[Path]:
    """Write every table, figure and the provenance into ``out``; return the paths written."""
    out = Path(out)
    check_output_dir(out, simulated)
    table = display_table(result.tests)
    texts = {
        "listening_table.md": (f"> **{BANNER}**\n\n" if simulated else "") + to_markdown(table),
        "listening_table.tex": to_tex(result.tests, result.questions, simulated),
        "listening_summary.md": summary_markdown(result, table, simulated, alpha, power_target),
        "listening_power.md": (f"> **{BANNER}**\n\n" if simulated else "") + power_note(result, alpha, power_target),
    }
    frames = {
        "listening_table.csv": table, "listening_tests.csv": result.tests,
        "listening_ratings.csv": result.mean_ratings, "listening_agreement.csv": result.agreement,
        "listening_power.csv": result.power,
    }
    written = []
    for name, text in texts.items():
        atomic_write_text(out / name, text)
        written.append(out / name)
    for name, frame in frames.items():
        _write_csv(out / name, _with_flag(frame, simulated))
        written.append(out / name)
    written += write_figures(result, out, simulated)
    atomic_write_json(out / PROVENANCE, {**provenance, "simulated": simulated, "screening": vars(result.screening),
                                         "files": sorted(p.name for p in written)})
    return written
