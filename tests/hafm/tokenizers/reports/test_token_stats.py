import math

import numpy as np
import pytest

from hafm.tokenizers.reports.token_stats import predictability, repeat_rate


def test_repeat_rate_counts_equal_neighbours():
    assert repeat_rate([np.array([1, 1, 2, 2]), np.array([3, 3])]) == pytest.approx(3 / 4)


def test_bigram_sees_structure_that_the_unigram_cannot():
    rng = np.random.default_rng(0)
    cycles = [np.tile(np.arange(8), 50) for _ in range(4)]  # deterministic successor, uniform unigram
    noise = [rng.integers(0, 8, 400) for _ in range(4)]
    structured = predictability([c[None] for c in cycles], vocab=8)[0]
    random = predictability([c[None] for c in noise], vocab=8)[0]
    assert structured["bigram_ce"] < 0.1 < math.log(8) - 0.05 < structured["unigram_ce"]
    assert random["bigram_ce"] >= random["unigram_ce"] - 0.01


def test_cross_fitting_needs_two_files():
    with pytest.raises(ValueError):
        predictability([np.zeros((1, 10), dtype=np.int64)], vocab=4)
