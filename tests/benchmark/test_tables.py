import json

import pandas as pd
import pytest

from benchmark.tables import FAD_COLUMNS, write_tables


@pytest.fixture
def cached_run(tmp_path):
    cache = tmp_path / "stats"
    cache.mkdir()
    rows = []
    for backend in ("musicnn", "musicnn_vgg"):
        for target in ("accompaniment", "mix"):
            for i, system in enumerate(["random", "two_stage", "three_stage", "ground_truth"]):
                v = 4.0 - i
                rows.append(dict(system=system, backend=backend, target=target, fad=v, ci_low=v - 0.3,
                                 ci_high=v + 0.3, n_clips=12, fad_inf=v - 0.1))
    stats = {"meta": {"data": "test", "n_clips": 12, "clip_seconds": 10, "n_songs": 4},
             "fad": rows, "per_song": [{"system": "x", "song": "a", "fad": 1.0}],
             "paired": [dict(a="three_stage", b="two_stage", backend="musicnn", target="mix",
                             diff=-1.0, ci_low=-1.5, ci_high=-0.4)],
             "reference_split_half": {"musicnn/mix": 0.5}}
    (cache / "fad_stats.json").write_text(json.dumps(stats))
    pd.DataFrame({"clip_id": ["a@0", "a@0"], "system": ["random", "ground_truth"],
                  "rhythm": [0.1, 0.6], "harmony": [0.3, 0.8]}).to_csv(cache / "per_clip.csv", index=False)
    return tmp_path


def test_every_table_and_figure_is_written(cached_run):
    paths = write_tables(cached_run)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_fad_csv_has_the_contract_columns_in_system_order(cached_run):
    write_tables(cached_run)
    df = pd.read_csv(cached_run / "fad.csv")
    assert list(df.columns) == FAD_COLUMNS
    first = df[(df.backend == "musicnn") & (df.target == "accompaniment")].system.tolist()
    assert first == ["ground_truth", "three_stage", "two_stage", "random"]


def test_markdown_states_the_paired_verdict_and_floor(cached_run):
    write_tables(cached_run)
    md = (cached_run / "fad.md").read_text()
    assert "three_stage closer to the reference" in md and "split-half" in md


def test_paper_comparison_is_labelled_not_comparable(cached_run):
    write_tables(cached_run)
    text = (cached_run / "paper_comparison.md").read_text()
    assert "NOT comparable" in text and "1.71" in text


def test_missing_statistics_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmark run"):
        write_tables(tmp_path)


def test_outside_systems_follow_the_shipped_ones(cached_run):
    stats = json.loads((cached_run / "stats" / "fad_stats.json").read_text())
    stats["fad"].insert(0, dict(stats["fad"][0], system="mine"))
    (cached_run / "stats" / "fad_stats.json").write_text(json.dumps(stats))
    write_tables(cached_run)
    df = pd.read_csv(cached_run / "fad.csv")
    first = df[(df.backend == "musicnn") & (df.target == "accompaniment")].system.tolist()
    assert first == ["ground_truth", "three_stage", "two_stage", "random", "mine"]
