import pandas as pd
import pytest

from listening_test.analysis.schema import (
    REQUIRED_COLUMNS,
    ExportError,
    is_simulated,
    load_exports,
    validate_export,
)


def test_simulated_export_satisfies_the_contract(sim_export):
    df = validate_export(sim_export)
    assert is_simulated(df) and set(REQUIRED_COLUMNS) <= set(df.columns)


def test_preferred_given_as_side_letter_becomes_the_system_name(make_trial):
    df = validate_export(pd.DataFrame([make_trial("r1", 0, "three_stage", "random", "B")]))
    assert df.loc[0, "preferred"] == "random"


def test_missing_column_is_named(sim_export):
    with pytest.raises(ExportError, match="harmony_b"):
        validate_export(sim_export.drop(columns=["harmony_b"]))


def test_rating_out_of_range_names_the_csv_line(make_trial):
    rows = [make_trial("r1", 0, "x", "y", "A"), make_trial("r1", 1, "x", "y", "A", ra=(6, 3, 3))]
    with pytest.raises(ExportError, match=r"rhythm_a.*lines 3"):
        validate_export(pd.DataFrame(rows))


def test_preferred_system_must_match_the_chosen_side(make_trial):
    row = make_trial("r1", 0, "x", "y", "A")
    row["preferred"] = "y"
    with pytest.raises(ExportError, match="preferred"):
        validate_export(pd.DataFrame([row]))


def test_duplicate_trial_is_refused(make_trial):
    rows = [make_trial("r1", 0, "x", "y", "A"), make_trial("r1", 0, "x", "y", "B")]
    with pytest.raises(ExportError, match="duplicate"):
        validate_export(pd.DataFrame(rows))


def test_catch_side_is_inferred_from_the_system_name(make_trial):
    row = make_trial("r1", 0, "random", "random_offbeat", "A", kind="offbeat")
    df = validate_export(pd.DataFrame([row]).drop(columns=["catch_side"]))
    assert df.loc[0, "catch_side"] == "B"


def test_offbeat_catch_without_a_side_is_refused(make_trial):
    row = make_trial("r1", 0, "random", "random", "A", kind="offbeat")
    with pytest.raises(ExportError, match="catch_side"):
        validate_export(pd.DataFrame([row]).drop(columns=["catch_side"]))


def test_mixed_simulated_flags_are_refused(sim_export):
    sim_export.loc[0, "simulated"] = 0
    with pytest.raises(ExportError, match="mixes simulated and real"):
        validate_export(sim_export)


def test_simulated_rater_ids_without_flag_are_refused(sim_export):
    with pytest.raises(ExportError, match="simulated"):
        validate_export(sim_export.drop(columns=["simulated"]))


def test_real_and_simulated_files_are_not_analysed_together(tmp_path, sim_export, real_export):
    sim_export.to_csv(tmp_path / "sim.csv", index=False)
    real_export.to_csv(tmp_path / "real.csv", index=False)
    with pytest.raises(ExportError, match="simulated and some are real"):
        load_exports([tmp_path / "sim.csv", tmp_path / "real.csv"])


def test_unreadable_file_gives_an_export_error(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ExportError, match="cannot read"):
        load_exports([tmp_path / "empty.csv"])


def test_server_column_names_are_mapped_to_the_contract(server_export, real_export):
    df = validate_export(server_export)
    expected = validate_export(real_export)
    assert df["rater"].equals(expected["rater"]) and df["catch_side"].equals(expected["catch_side"])
    assert df["preferred"].equals(expected["preferred"])


def test_an_export_of_two_studies_is_refused(server_export):
    server_export.loc[0, "study_id"] = "other"
    with pytest.raises(ExportError, match="mixes studies"):
        validate_export(server_export)


def test_the_server_export_columns_cover_the_contract():
    # Read the server's COLUMNS without importing it (the analysis never imports the web server).
    import ast
    from pathlib import Path

    import listening_test.analysis as analysis_pkg
    from listening_test.analysis.schema import SERVER_ALIASES

    source = (Path(analysis_pkg.__file__).parent.parent / "export.py").read_text()
    parts = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Assign)
             and getattr(node.targets[0], "id", "") in ("LEADING_COLUMNS", "TRAILING_COLUMNS")}
    ratings = [f"{q}_{side}" for side in "ab" for q in ("rhythm", "harmony", "coherence")]  # the default questions
    columns = [*parts["LEADING_COLUMNS"], *ratings, *parts["TRAILING_COLUMNS"]]
    mapped = {SERVER_ALIASES.get(c, c) for c in columns}
    assert set(REQUIRED_COLUMNS) <= mapped and "catch_expected" in columns
