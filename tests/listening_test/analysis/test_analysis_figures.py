"""Paper-ready figures of the analysis (listening_test.analysis.figures)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from listening_test.analysis.config import AnalysisConfig
from listening_test.analysis.figures import (
    CHANCE_LABEL,
    SIMULATED_TITLE,
    preference_figure,
    ratings_figure,
    write_figures,
)
from listening_test.analysis.questions import RatingQuestion
from listening_test.analysis.schema import validate_export
from listening_test.analysis.simulate import SimulationConfig, simulate_study
from listening_test.analysis.study import analyze_study

SYSTEMS = ["three_stage", "ground_truth", "random"]


@pytest.fixture(scope="module")
def result():
    """One small simulated study, analysed once for the whole module."""
    export = simulate_study(SimulationConfig(n_raters=12, n_items=4), np.random.default_rng(7))
    return analyze_study(validate_export(export), AnalysisConfig(n_boot=50))


@pytest.fixture(autouse=True)
def _close_figures():
    """The figures a test built and inspected are closed after it."""
    yield
    plt.close("all")


def _means(attributes: list[str]) -> pd.DataFrame:
    rows = [{"system": s, "attribute": a, "mean": 2.0 + i, "ci_low": 1.5 + i, "ci_high": 2.5 + i}
            for a in attributes for i, s in enumerate(SYSTEMS)]
    return pd.DataFrame(rows)


def test_both_figures_are_written_as_pdf_svg_and_png(tmp_path, result):
    paths = write_figures(result, tmp_path, simulated=False)
    assert sorted(p.name for p in paths) == sorted(f"listening_{k}.{f}" for k in ("preference", "ratings")
                                                   for f in ("pdf", "svg", "png"))
    for path in paths:
        magic = {".pdf": b"%PDF", ".svg": b"<?xml", ".png": b"\x89PNG"}[path.suffix]
        assert path.read_bytes().startswith(magic), path


def test_rewriting_the_figures_gives_the_same_bytes(tmp_path, result):
    first = write_figures(result, tmp_path / "a", simulated=True, formats=("svg", "pdf"))
    second = write_figures(result, tmp_path / "b", simulated=True, formats=("svg", "pdf"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_preference_panels_share_a_0_to_100_axis_with_the_chance_line(result):
    fig = preference_figure(result.tests, simulated=False)
    assert [ax.get_title() for ax in fig.axes] == ["Preference", "Position bias"]
    assert {ax.get_ylim() for ax in fig.axes} == {(0.0, 100.0)}
    for ax in fig.axes:
        assert [tuple(line.get_ydata()) for line in ax.get_lines() if line.get_label() == CHANCE_LABEL] == [(50, 50)]


def test_preference_bars_are_labelled_with_display_names(result):
    labels = [t.get_text() for t in preference_figure(result.tests, simulated=False).axes[0].get_xticklabels()]
    assert labels[0] == "HAFM, three-stage\nover Ground truth"


def test_rating_panels_on_one_scale_share_its_axis():
    questions = [RatingQuestion(q) for q in ("rhythm", "harmony", "coherence")]
    fig = ratings_figure(_means(["rhythm", "harmony", "coherence"]), SYSTEMS, False, questions)
    assert [ax.get_title() for ax in fig.axes] == ["Rhythm", "Harmony", "Coherence"]
    assert {ax.get_ylim() for ax in fig.axes} == {(1.0, 5.0)}
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[2])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["HAFM, three-stage", "Ground truth",
                                                                   "Random accompaniment"]


def test_rating_panels_on_other_scales_each_span_their_own():
    questions = [RatingQuestion("melody", 1, 7), RatingQuestion("groove", 1, 3)]
    fig = ratings_figure(_means(["melody", "groove"]), SYSTEMS, False, questions)
    assert [ax.get_ylim() for ax in fig.axes] == [(1.0, 7.0), (1.0, 3.0)]
    assert [ax.get_title() for ax in fig.axes] == ["Melody (1-7)", "Groove (1-3)"]


def test_only_simulated_figures_carry_the_banner(result):
    titles = {sim: preference_figure(result.tests, simulated=sim).get_suptitle() for sim in (True, False)}
    assert titles == {True: SIMULATED_TITLE, False: ""}
