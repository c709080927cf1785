import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import listening_test.analysis as analysis_pkg
from listening_test.analysis.cli import build_parser, main, register
from listening_test.analysis.config import AnalysisConfig
from listening_test.analysis.report import BANNER, TEX_COLUMNS, TEX_LABEL, to_tex
from listening_test.analysis.study import analyze_study


def _analyze(export: pd.DataFrame, csv: Path, out: Path) -> int:
    export.to_csv(csv, index=False)
    return main(["analyze", str(csv), "--out", str(out), "--n-boot", "200"])


def test_simulated_results_are_labelled_everywhere(tmp_path, sim_export):
    out = tmp_path / "listening_simulated"
    assert _analyze(sim_export, tmp_path / "sim.csv", out) == 0
    for name in ("listening_table.md", "listening_summary.md", "listening_table.tex", "listening_power.md"):
        assert BANNER in (out / name).read_text()
    for name in ("listening_table.csv", "listening_tests.csv", "listening_ratings.csv"):
        assert (pd.read_csv(out / name)["simulated"] == 1).all()
    assert json.loads((out / "listening_provenance.json").read_text())["simulated"] is True
    figures = [f"listening_{kind}.{fmt}" for kind in ("preference", "ratings") for fmt in ("pdf", "svg", "png")]
    assert all((out / name).stat().st_size > 0 for name in figures)
    assert set(figures) <= set(json.loads((out / "listening_provenance.json").read_text())["files"])


def test_real_results_have_no_banner_and_the_four_formats(tmp_path, real_export):
    out = tmp_path / "study"
    assert _analyze(real_export, tmp_path / "real.csv", out) == 0
    assert BANNER not in (out / "listening_table.md").read_text()
    assert "\\begin{tabular}" in (out / "listening_table.tex").read_text()
    assert (pd.read_csv(out / "listening_table.csv")["simulated"] == 0).all()


def test_tex_table_is_paper_ready_with_caption_label_and_display_names(sim_valid):
    result = analyze_study(sim_valid, AnalysisConfig(n_boot=50))
    tex = to_tex(result.tests, result.questions, simulated=True)
    lines = tex.splitlines()
    assert lines.index(r"\begin{table*}[t]") < lines.index(rf"\label{{{TEX_LABEL}}}") < lines.index(r"\toprule")
    assert any(line.startswith(r"\caption{SIMULATED DATA. Listening test") for line in lines)
    assert r"HAFM, three-stage over Ground truth\textsuperscript{a} & " in tex and "three\\_stage" not in tex
    body = lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]
    rows = [line for line in body if not line.startswith(r"\multicolumn")]
    assert len(rows) == len(result.tests) and {row.count(" & ") for row in rows} == {len(TEX_COLUMNS) - 1}


def test_simulated_data_is_refused_outside_a_simulated_folder(tmp_path, sim_export, capsys):
    assert _analyze(sim_export, tmp_path / "sim.csv", tmp_path / "listening") == 2
    assert "simulated" in capsys.readouterr().err


def test_a_folder_never_receives_both_kinds(tmp_path, sim_export, real_export, capsys):
    out = tmp_path / "simulated_and_real"
    assert _analyze(real_export, tmp_path / "real.csv", out) == 0
    assert _analyze(sim_export, tmp_path / "sim.csv", out) == 2
    assert "holds real results" in capsys.readouterr().err


def test_register_adds_both_subcommands_to_another_cli():
    import argparse

    parser = argparse.ArgumentParser(prog="listening_test")
    register(parser.add_subparsers(dest="command", required=True))
    assert parser.parse_args(["simulate", "--studies", "3"]).studies == 3
    assert parser.parse_args(["analyze", "x.csv"]).out == Path("results")


def test_help_runs_standalone(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["--help"])
    assert done.value.code == 0 and "simulate" in capsys.readouterr().out


def test_no_module_of_the_analysis_imports_flask():
    for path in Path(analysis_pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] == "flask"], path
