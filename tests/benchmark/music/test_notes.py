import numpy as np

from benchmark.music.notes import FRAME_S, Notes, melody, onsets, pianoroll, true_notes


def test_from_array_sorts_by_onset():
    notes = Notes.from_array(np.array([[1.0, 2.0, 60, 1], [0.0, 1.0, 62, 1]]))
    assert notes.onset.tolist() == [0.0, 1.0] and notes.pitch.tolist() == [62, 60]


def test_pianoroll_marks_a_note_for_its_duration(chord):
    roll = pianoroll(chord([60], 0.1, 0.3), duration=0.5)
    assert roll.shape == (128, 25)
    assert np.flatnonzero(roll[60]).tolist() == list(range(5, 15))  # frames whose centre lies in [0.1, 0.3)


def test_melody_takes_the_latest_onset_where_notes_overlap():
    notes = Notes.from_array(np.array([[0.0, 0.5, 60, 1], [0.2, 0.4, 64, 1]]))
    m = melody(notes, 0.6)
    assert m[int(0.1 / FRAME_S)] == 60 and m[int(0.3 / FRAME_S)] == 64 and np.isnan(m[-1])


def test_onsets_merges_chord_notes_into_one_onset():
    notes = Notes.from_array(np.array([[0.0, 1, 60, 1], [0.01, 1, 64, 1], [0.5, 1, 67, 1]]))
    assert onsets(notes).tolist() == [0.0, 0.5]


def test_window_clips_notes_and_restarts_time(line):
    notes = line([60, 62], [0.0, 1.0], 1.0).window(0.5, 1.0)
    assert notes.onset.tolist() == [0.0, 0.5] and notes.offset.tolist() == [0.5, 1.0]


def test_transformations_move_the_notes(line):
    notes = line([60], [1.0], 1.0)
    assert notes.shifted(0.25).onset[0] == 1.25
    assert notes.transposed(6).pitch[0] == 66
    assert notes.stretched(1.5).offset[0] == 3.0


def test_true_notes_reads_the_stems_asked_for(tmp_path):
    (tmp_path / "notes.json").write_text(
        '{"notes": [{"onset_s": 0, "offset_s": 1, "pitch": 72, "stem": "vocals"},'
        ' {"onset_s": 0, "offset_s": 1, "pitch": 48, "stem": "bass"}]}')
    assert true_notes(tmp_path, ("bass", "other")).pitch.tolist() == [48]


def test_earlier_cuts_notes_at_time_zero(line):
    notes = line([60, 62], [0.0, 1.0], 0.02).earlier(0.05)  # the first note ends before 0
    assert notes.onset.tolist() == [0.95] and notes.pitch.tolist() == [62]
