import numpy as np
import pytest

from benchmark.music.rhythm import onset_agreement, tempo_agreement

BEATS = np.arange(0, 8, 0.5)


def test_onsets_on_the_same_beats_agree_fully(line):
    assert onset_agreement(line([72] * 16, BEATS, 0.4), line([48] * 16, BEATS, 0.4)) == 1.0


def test_onsets_shifted_by_a_quarter_second_never_agree(line):
    assert onset_agreement(line([72] * 16, BEATS, 0.4), line([48] * 16, BEATS + 0.25, 0.4)) == 0.0


def test_tempo_agreement_ignores_phase(line):
    vocal = line([72] * 16, BEATS, 0.4)
    assert tempo_agreement(vocal, line([48] * 16, BEATS + 0.25, 0.4), 8.0) == pytest.approx(1.0, abs=0.01)


def test_tempo_agreement_falls_for_another_tempo(line):
    vocal = line([72] * 16, BEATS, 0.4)
    other = np.arange(0, 8, 0.37)
    assert tempo_agreement(vocal, line([48] * len(other), other, 0.3), 8.0) < 0.5


def test_no_onsets_scores_zero(line):
    empty = line([], [], 0.4)
    assert onset_agreement(line([72], [0.0], 0.4), empty) == 0.0
    assert tempo_agreement(line([72], [0.0], 0.4), empty, 8.0) == 0.0


def test_onset_times_count_like_notes_and_merge_within_30_ms(line):
    vocal = line([72] * 16, BEATS, 0.4)
    assert onset_agreement(vocal, BEATS) == 1.0
    assert onset_agreement(vocal, np.concatenate([BEATS, BEATS + 0.01])) == 1.0  # doubled onsets merge
    assert tempo_agreement(vocal, BEATS + 0.25, 8.0) == pytest.approx(1.0, abs=0.01)
