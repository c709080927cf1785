import numpy as np
import pandas as pd

from benchmark.music.tables import paired, summary, write_music_tables


def _per_clip(n_songs=8):
    rng = np.random.default_rng(0)
    rows = []
    for system, level in (("ground_truth", 0.8), ("random", 0.4)):
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
    assert "ground_truth higher" in (tmp_path / "music.md").read_text()


def test_a_run_without_music_columns_writes_nothing(tmp_path):
    assert write_music_tables(tmp_path, _per_clip().drop(columns=["consonance"])) == []
