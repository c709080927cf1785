"""Tests of benchmark.by_vocal_patch: metrics grouped by the vocal's GM patch."""

import pandas as pd

from benchmark.by_vocal_patch import by_patch, vocal_patches


def test_vocal_patches_read_each_tracks_vocal_program():
    manifest = {"tracks": {"a": {"patches": {"vocals": 52, "set": "piano"}}, "b": {"patches": {"vocals": 53}}}}
    assert vocal_patches(manifest) == {"a": 52, "b": 53}


def test_by_patch_averages_each_systems_clips_per_patch_and_counts_songs():
    rows = [("a", "truth", 0.6), ("a", "model", 0.1), ("a", "truth", 0.8), ("a", "model", 0.3),
            ("b", "truth", 0.5), ("b", "model", 0.4), ("c", "model", 0.9), ("x", "model", 0.0)]
    per_clip = pd.DataFrame(rows, columns=["track", "system", "rhythm"])
    table = by_patch(per_clip, {"a": 52, "b": 53, "c": 53}, ["truth", "model"], "rhythm").set_index("patch")
    assert table.loc[52, "voice"] == "Choir Aahs" and table.loc[52, "clips"] == 2 and table.loc[52, "songs"] == 1
    assert table.loc[52, "rhythm model"] == 0.2 and table.loc[53, "rhythm model"] == 0.65
    assert table.loc[53, "rhythm truth"] == 0.5 and list(table.index) == [52, 53]  # track x has no patch
