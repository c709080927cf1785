"""Tests of benchmark.compare_checkpoints: the candidate list and the validation summary."""

import numpy as np
import pandas as pd
import pytest

from benchmark.compare_checkpoints import METRICS, _candidates, summarize


def _per_clip(shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for song in ("s1", "s2", "s3", "s4"):
        base = {m: float(rng.uniform(0.2, 0.6)) for m in METRICS[1:]}
        rows.append({"clip_id": song, "track": song, "system": "truth", **{m: 0.9 for m in METRICS[1:]}})
        rows.append({"clip_id": song, "track": song, "system": "old", **base})
        rows.append({"clip_id": song, "track": song, "system": "new", **base, "rhythm": base["rhythm"] + shift})
    return pd.DataFrame(rows)


def test_summary_reports_each_candidates_paired_difference_from_the_first():
    summary = summarize(_per_clip(0.1), {"truth": 0.0, "old": 20.0, "new": 18.0}, "old").set_index("system")
    assert summary.loc["new", "rhythm_diff"] == "+0.100 [+0.100, +0.100]"
    assert summary.loc["new", "harmony_diff"] == "+0.000 [+0.000, +0.000]"
    assert summary.loc["new", "fad"] == 18.0
    assert pd.isna(summary.loc["old", "rhythm_diff"])


def test_candidates_name_folders_and_refuse_a_bare_path():
    assert _candidates(["shipped=shipped", "new=runs/x"]) == {"shipped": None, "new": "runs/x"}
    with pytest.raises(SystemExit, match="NAME=FOLDER"):
        _candidates(["runs/x"])
