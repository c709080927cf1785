"""The paper-output helpers shared by the benchmark and the listening analysis (hafm.paper)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hafm.paper import latex_escape, latex_table, write_figure  # noqa: E402


def _bars() -> plt.Figure:
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    return fig


def test_write_figure_writes_each_format_and_closes_the_figure(tmp_path):
    before = plt.get_fignums()
    paths = write_figure(_bars, tmp_path / "sub" / "bars", salt="test")
    assert [p.name for p in paths] == ["bars.pdf", "bars.svg", "bars.png"]
    heads = [p.read_bytes()[:8] for p in paths]
    assert heads[0].startswith(b"%PDF") and heads[2].startswith(b"\x89PNG")
    assert b"<svg" in paths[1].read_bytes() and plt.get_fignums() == before


def test_vector_files_carry_no_date_and_repeat_byte_for_byte(tmp_path):
    first = write_figure(_bars, tmp_path / "a" / "bars", salt="test", formats=("pdf", "svg"))
    second = write_figure(_bars, tmp_path / "b" / "bars", salt="test", formats=("pdf", "svg"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert b"CreationDate" not in first[0].read_bytes() and b"<dc:date>" not in first[1].read_bytes()


def test_latex_table_has_caption_and_label_above_the_booktabs_tabular():
    tex = latex_table("lr", ["A & B \\\\"], ["x & 1 \\\\"], caption="Cap.", label="tab:x", wide=True,
                      comments=["made by a test"])
    lines = tex.splitlines()
    assert lines[:2] == ["% made by a test", r"\begin{table*}[t]"] and lines[-1] == r"\end{table*}"
    assert lines.index(r"\caption{Cap.}") < lines.index(r"\label{tab:x}") < lines.index(r"\begin{tabular}{lr}")
    assert lines[lines.index(r"\toprule") + 1:lines.index(r"\bottomrule")] == ["A & B \\\\", r"\midrule", "x & 1 \\\\"]


def test_latex_escape_writes_comparisons_as_math():
    assert latex_escape("p < 0.001 & q > 1_2") == r"p $<$ 0.001 \& q $>$ 1\_2"
