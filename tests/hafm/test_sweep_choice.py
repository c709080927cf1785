import numpy as np

from hafm.sweep import choose, mean_rhythm


def test_choose_takes_the_lowest_fad_among_settings_that_reach_the_rhythm_floor():
    rows = [{"fad": 20.0, "rhythm": 0.1}, {"fad": 30.0, "rhythm": 0.4}, {"fad": 25.0, "rhythm": 0.5}]
    assert choose(rows, floor=0.35) == 2


def test_without_a_setting_at_the_floor_the_lowest_fad_near_the_highest_rhythm_wins():
    rows = [{"fad": 15.0, "rhythm": 0.1}, {"fad": 22.0, "rhythm": 0.30}, {"fad": 21.0, "rhythm": 0.29},
            {"fad": 20.0, "rhythm": 0.25}]
    assert choose(rows, floor=0.9) == 2


def test_mean_rhythm_ranks_aligned_onsets_above_shifted_ones():
    sr = 24_000
    clicks = np.zeros(3 * sr, dtype=np.float32)
    clicks[np.arange(0, 3 * sr, sr // 2)] = 1.0
    rng = np.random.default_rng(0)
    vocal = np.convolve(clicks, rng.standard_normal(400).astype(np.float32), mode="same")
    aligned = np.convolve(clicks, rng.standard_normal(400).astype(np.float32), mode="same")
    shifted = np.roll(aligned, sr // 4)  # onsets between the vocal's, 250 ms away
    assert mean_rhythm([vocal], [aligned]) > mean_rhythm([vocal], [shifted]) + 0.3


def test_a_setting_within_the_tolerance_of_the_best_stays_eligible_when_only_the_best_reaches_the_floor():
    rows = [{"fad": 23.0, "rhythm": 0.346}, {"fad": 21.0, "rhythm": 0.335}, {"fad": 19.0, "rhythm": 0.30}]
    assert choose(rows, floor=0.34) == 1
