import pandas as pd
import pytest

from benchmark.music.stats import paired_difference, song_mean_ci, song_means


def test_songs_are_averaged_before_the_mean():
    values = pd.Series([1.0, 1.0, 1.0, 0.0])
    songs = pd.Series(["a", "a", "a", "b"])
    m = song_mean_ci(values, songs)
    assert m.mean == pytest.approx(0.5) and m.n_songs == 2 and m.n_clips == 4
    assert m.ci_low <= 0.5 <= m.ci_high


def test_a_constant_metric_has_a_zero_width_interval():
    m = song_mean_ci(pd.Series([0.7] * 6), pd.Series(list("aabbcc")))
    assert (m.ci_low, m.ci_high) == pytest.approx((0.7, 0.7))


def test_paired_difference_finds_a_consistent_gap():
    songs = [f"s{i}" for i in range(20)]
    a = pd.Series([0.8 + 0.01 * i for i in range(20)], index=songs)
    d = paired_difference(a, a - 0.3)
    assert d.diff == pytest.approx(0.3) and d.significant and d.p_wilcoxon < 0.001


def test_paired_difference_uses_only_common_songs():
    a = song_means(pd.Series([1.0, 2.0]), pd.Series(["x", "y"]))
    b = pd.Series([0.0, 5.0], index=["x", "z"])
    assert paired_difference(a, b).n_songs == 1
