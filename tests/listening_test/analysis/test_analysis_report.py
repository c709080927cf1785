import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import listening_test.analysis as analysis_pkg
from listening_test.analysis.cli import build_parser, main, register
from listening_test.analysis.report import BANNER


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
    assert (out / "listening_preference.png").stat().st_size > 0 and (out / "listening_ratings.png").stat().st_size > 0


def test_real_results_have_no_banner_and_the_four_formats(tmp_path, real_export):
    out = tmp_path / "study"
    assert _analyze(real_export, tmp_path / "real.csv", out) == 0
    assert BANNER not in (out / "listening_table.md").read_text()
    assert "\\begin{tabular}" in (out / "listening_table.tex").read_text()
    assert (pd.read_csv(out / "listening_table.csv")["simulated"] == 0).all()


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
