import numpy as np
import pytest

from hafm.tokenizers.reports.token_timing import change_rate, novelty, novelty_correlation

# Two far clusters (0, 1) and a near neighbour of cluster 0 (2): a jump between 0 and 1 is a change
# of sound, a jump between 0 and 2 is jitter.
CENTROIDS = np.array([[0.0, 0.0], [10.0, 0.0], [0.1, 0.0]])


def _chords(change_frames: list[int], n: int) -> np.ndarray:
    """Tokens alternating between the far clusters 0 and 1 at ``change_frames``."""
    tokens = np.zeros(n, dtype=np.int64)
    for k, frame in enumerate(change_frames):
        tokens[frame:] = (k + 1) % 2
    return tokens


def test_change_rate_counts_changes_per_second():
    assert change_rate(np.array([0, 0, 1, 1, 2]), hz=50) == pytest.approx(2 / 4 * 50)


def test_novelty_is_large_at_a_change_of_sound_and_small_for_jitter_between_neighbours():
    tokens = np.array([0, 2, 0, 2, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    curve = novelty(tokens, CENTROIDS, smoothing=1)
    assert curve.argmax() == 6  # the step from frame 6 to 7
    assert curve[:4].max() < 0.02 * curve.max()


def test_followed_changes_correlate_and_shifted_changes_do_not():
    vocal = _chords([20, 45, 70, 95, 120, 145], 170)
    assert novelty_correlation(vocal, vocal.copy(), CENTROIDS) == pytest.approx(1.0)
    shifted = _chords([32, 57, 82, 107, 132, 157], 170)  # half a period later
    assert novelty_correlation(vocal, shifted, CENTROIDS) < 0.1


def test_a_held_token_has_zero_correlation():
    vocal = _chords([20, 45, 70], 100)
    assert novelty_correlation(vocal, np.zeros(100, dtype=np.int64), CENTROIDS) == 0.0


def test_sequences_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one length"):
        novelty_correlation(np.zeros(10, dtype=np.int64), np.zeros(11, dtype=np.int64), CENTROIDS)
