import numpy as np
import pandas as pd

from benchmark.music.tables import latex, markdown, paired, summary, write_music_tables


def _per_clip(n_songs=8, systems=(("ground_truth", 0.8), ("random", 0.4))):
    rng = np.random.default_rng(0)
    rows = []
    for system, level in systems:
        for s in range(n_songs):
            for clip in range(2):
                values = {m: level + rng.normal(0, 0.02) for m in ("harmony", "rhythm", "coherence", "consonance")}
                rows.append({"clip_id": f"s{s}@{clip}", "track": f"s{s}", "system": system, **values})
    return pd.DataFrame(rows)


def test_summary_has_one_row_per_system_and_metric():
    table = summary(_per_clip())
    assert len(table) == 2 * 4 and set(table.n_songs) == {8}


def test_paired_table_finds_ground_truth_above_random():
    row = paired(_per_clip()).query("metric == 'harmony'").iloc[0]
    assert (row.a, row.b) == ("ground_truth", "random") and row.ci_low > 0.3


def test_tables_are_written_and_name_the_winner(tmp_path):
    paths = write_music_tables(tmp_path, _per_clip())
    assert all(p.exists() for p in paths)
    assert "Ground truth higher" in (tmp_path / "music.md").read_text()


def test_the_figure_is_written_as_pdf_svg_and_png_with_one_shared_axis(tmp_path):
    names = {p.name for p in write_music_tables(tmp_path, _per_clip())}
    assert {"music.pdf", "music.svg", "music.png"} <= names
    assert "<dc:date>" not in (tmp_path / "music.svg").read_text()


def test_a_run_without_music_columns_writes_nothing(tmp_path):
    assert write_music_tables(tmp_path, _per_clip().drop(columns=["consonance"])) == []


def _three_systems():
    """An outside system first, then the registry's systems in reverse order."""
    return _per_clip(n_songs=4, systems=(("my_model", 0.6), ("random", 0.4), ("ground_truth", 0.8)))


def test_markdown_rows_carry_display_names_in_registry_order():
    per_clip = _three_systems()
    text = markdown(summary(per_clip, n_resamples=50), paired(per_clip, n_resamples=50))
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ") and "[" in line]
    assert rows[:3] == ["| Ground truth", "| Random accompaniment", "| my model"]
    assert "ground_truth" not in text


def test_a_display_name_the_run_recorded_wins():
    per_clip = _three_systems()
    stats = {"meta": {"display_names": {"my_model": "My Model (ours)"}}}
    text = markdown(summary(per_clip, n_resamples=50), paired(per_clip, n_resamples=50), stats)
    assert "| My Model (ours) |" in text and "| My Model (ours) | Random accompaniment | harmony |" in text


def test_latex_rows_carry_escaped_display_names_in_registry_order():
    tex = latex(summary(_three_systems(), n_resamples=50))
    names = [line.split(" & ")[0] for line in tex.splitlines() if "[" in line]
    assert names == ["Ground truth", "Random accompaniment", "my model"]
