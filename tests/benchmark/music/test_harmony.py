import pytest

from benchmark.music.harmony import chord_tone_share, consonance, estimate_key, key_agreement


def test_melody_on_the_root_of_a_triad_is_fully_consonant(c_major_triad, chord):
    assert consonance(chord([72], 0, 2), c_major_triad, 2.0) == pytest.approx(1.0)


def test_c_sharp_over_a_c_major_triad_is_one_third_consonant(c_major_triad, chord):
    # C#5 against C (minor 9th), E (major 6th: consonant), G (tritone)
    assert consonance(chord([73], 0, 2), c_major_triad, 2.0) == pytest.approx(1 / 3)


def test_consonance_weights_notes_by_confidence(chord):
    import numpy as np

    from benchmark.music.notes import Notes

    accomp = Notes.from_array(np.array([[0, 2, 60, 1.0], [0, 2, 61, 0.5]]))  # C (consonant), C# (m7 below C: 11)
    assert consonance(chord([72], 0, 2), accomp, 2.0) == pytest.approx(1 / 1.5)


def test_silent_accompaniment_has_zero_harmony(chord):
    assert consonance(chord([72], 0, 2), chord([], 0, 2), 2.0) == 0.0


def test_chord_tone_share_counts_melody_frames_in_the_chord(c_major_triad, line):
    melody = line([72, 74], [0.0, 1.0], 1.0)  # C (chord tone) for 1 s, D (not) for 1 s
    assert chord_tone_share(melody, c_major_triad, 2.0) == pytest.approx(0.5)


def test_estimate_key_of_a_c_major_scale(line):
    assert estimate_key(line([60, 62, 64, 65, 67, 69, 71, 72, 67, 60], range(10), 1.0)) == "C major"


def test_key_agreement_is_one_for_the_same_key_and_zero_a_tritone_away(line):
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 67, 60]
    vocal = line(scale, range(10), 1.0)
    assert key_agreement(vocal, line([p - 12 for p in scale], range(10), 1.0)) == pytest.approx(1.0)
    assert key_agreement(vocal, line([p - 6 for p in scale], range(10), 1.0)) == 0.0


def test_key_agreement_is_graded_a_fifth_away_between_the_same_key_and_a_tritone(line):
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 67, 60]
    vocal = line(scale, range(10), 1.0)
    fifth = key_agreement(vocal, line([p + 7 for p in scale], range(10), 1.0))  # G major
    semitone = key_agreement(vocal, line([p + 1 for p in scale], range(10), 1.0))  # Db major
    assert 0.3 < fifth < 0.95 and semitone < fifth
