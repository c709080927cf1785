"""Paper-ready FAD table and figures (benchmark.paper) from a small set of cached statistics."""

import json

import pandas as pd
import pytest

from benchmark.paper import build_fad_figure, display_name, fad_figure, fad_latex, latex_escape
from benchmark.tables import fad_frame, write_tables


@pytest.fixture
def stats():
    rows = []
    for backend in ("musicnn", "musicnn_vgg"):
        for target in ("accompaniment", "mix"):
            for i, system in enumerate(["random", "two_stage", "three_stage", "ground_truth"]):
                v = 4.0 - i + (10.0 if backend == "musicnn_vgg" else 0.0)
                rows.append(dict(system=system, backend=backend, target=target, fad=v, ci_low=v - 0.3,
                                 ci_high=v + 0.3, n_clips=12, fad_inf=v - 0.1))
    return {"meta": {"data": "chorales_test", "n_clips": 12, "clip_seconds": 10, "n_songs": 4, "bootstrap": 500,
                     "reference": "12 clips"},
            "fad": rows, "per_song": [], "paired": [], "reference_split_half": {"musicnn/mix": 0.5}}


def _body(tex: str) -> list[str]:
    lines = tex.splitlines()
    return lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]


def test_table_is_wide_with_caption_label_and_display_names(stats):
    tex = fad_latex(fad_frame(stats), stats)
    assert tex.startswith(r"\begin{table*}") and r"\label{tab:fad}" in tex and r"\caption{" in tex
    assert "4 test songs (500 resamples)" in tex and r"chorales\_test" in tex
    assert r"\multicolumn{2}{c}{MusiCNN (MTT)}" in tex and r"\cmidrule(lr){4-5}" in tex
    cells = r"1.00 [0.70, 1.30] & 1.00 [0.70, 1.30] & 11.0 [10.7, 11.3] & 11.0 [10.7, 11.3]"  # 3 significant digits
    assert _body(tex)[0] == rf"Ground truth & {cells} \\"


def test_every_row_has_every_column(stats):
    for what in ("fad", "fad_inf"):
        tex = fad_latex(fad_frame(stats), stats, what=what)
        columns = len(tex.split(r"\begin{tabular}{")[1].split("}")[0])
        for line in _body(tex):
            if line != r"\midrule":
                assert line.count("&") == columns - 1, line


def test_fad_inf_table_and_floor_row(stats):
    tex = fad_latex(fad_frame(stats), stats, what="fad_inf")
    body = _body(tex)
    assert r"\label{tab:fad-inf}" in tex and r"FAD$_\infty$" in tex
    assert body[0] == r"Ground truth & 0.90 & 0.90 & 10.9 & 10.9 \\"
    assert body[-1] == r"Reference split-half floor & -- & 0.50 & -- & -- \\"  # only the floor the run measured


def test_run_display_names_and_outside_systems(stats):
    stats["meta"]["display_names"] = {"three_stage": "Ours"}
    assert display_name("three_stage", stats) == "Ours" and display_name("my_model", stats) == "my model"
    assert latex_escape("A&B_50%") == r"A\&B\_50\%"


def test_figure_panels_share_one_y_axis_and_draw_the_floor(stats):
    fig = build_fad_figure(fad_frame(stats), stats)
    axes = fig.axes
    assert len(axes) == 4 and len({ax.get_ylim() for ax in axes}) == 1
    floors = [(i, tuple(line.get_ydata())) for i, ax in enumerate(axes) for line in ax.get_lines()
              if line.get_label() == "reference split-half floor"]
    assert floors == [(1, (0.5, 0.5))]  # musicnn / mix only: the one floor the run measured
    assert "Ground truth" in [t.get_text() for t in axes[-1].get_xticklabels()]


def test_vector_figures_are_reproducible_files(stats, tmp_path):
    df = fad_frame(stats)
    first = fad_figure(df, stats, tmp_path / "a" / "fad", formats=("pdf", "svg"))
    second = fad_figure(df, stats, tmp_path / "b" / "fad", formats=("pdf", "svg"))
    assert [p.name for p in first] == ["fad.pdf", "fad.svg"]
    assert first[0].read_bytes().startswith(b"%PDF") and b"<svg" in first[1].read_bytes()
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_write_tables_writes_the_vector_figures(stats, tmp_path):
    (tmp_path / "stats").mkdir()
    (tmp_path / "stats" / "fad_stats.json").write_text(json.dumps(stats))
    pd.DataFrame({"clip_id": ["a@0"], "system": ["random"], "rhythm": [0.1], "harmony": [0.3]}).to_csv(
        tmp_path / "stats" / "per_clip.csv", index=False)
    written = write_tables(tmp_path)
    assert {"fad.pdf", "fad.svg", "fad.png", "fad.tex", "fad_inf.tex"} <= {p.name for p in written}
    assert r"\begin{table*}" in (tmp_path / "fad.tex").read_text()
