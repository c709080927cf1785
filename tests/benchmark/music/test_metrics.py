import numpy as np
import pytest

from benchmark.music.metrics import CHANCE, COLUMNS, Transcribers, audio_metrics, coherence, note_metrics

BEATS = np.arange(0, 8, 0.5)


def test_matching_accompaniment_scores_full_harmony_rhythm_and_coherence(line):
    vocal = line([72, 76, 79, 76] * 4, BEATS, 0.5)
    accomp = line([48, 52, 55, 52] * 4, BEATS, 0.5)
    values = note_metrics(vocal, accomp, 8.0)
    assert set(values) == set(COLUMNS)
    assert values["harmony"] == 1.0 and values["rhythm"] == 1.0 and values["coherence"] == pytest.approx(1.0)


def test_given_accompaniment_onsets_replace_the_notes_onsets_for_rhythm_only(line):
    vocal = line([72, 76, 79, 76] * 4, BEATS, 0.5)
    accomp = line([48, 52, 55, 52] * 4, BEATS, 0.5)
    values = note_metrics(vocal, accomp, 8.0, accomp_onsets=BEATS + 0.25)
    assert values["rhythm"] == 0.0 and values["harmony"] == 1.0


def test_coherence_is_zero_when_either_part_is_at_chance():
    assert coherence({"consonance": 1.0, "onset_f": CHANCE["onset_f"]}) == 0.0
    assert coherence({"consonance": 0.2, "onset_f": 1.0}) == 0.0


def test_audio_metrics_reads_notes_from_the_transcribers(line, fake_tracker):
    vocal = line([72] * 16, BEATS, 0.5)
    shifted = line([73] * 16, BEATS + 0.25, 0.5)  # a semitone off and off the beat
    tr = Transcribers(accompaniment=fake_tracker(shifted), vocal=fake_tracker(vocal))
    values = audio_metrics(np.zeros(8 * 24_000), np.zeros(8 * 24_000), 24_000, tr)
    assert values["rhythm"] == 0.0 and values["harmony"] == 0.0 and values["coherence"] == 0.0


def test_fitted_transcribers_take_the_saved_settings_and_default_without_them(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text('{"accompaniment": {"onset_threshold": 0.6, "onset_lag_s": 0.03}, "vocal": {"hop_s": 0.04}}')
    fitted = Transcribers.fitted(path=path)
    assert (fitted.accompaniment.onset_threshold, fitted.accompaniment.onset_lag_s) == (0.6, 0.03)
    assert fitted.vocal.hop_s == 0.04 and fitted.vocal.voicing_threshold == 0.5
    assert Transcribers.fitted(path=tmp_path / "absent.json").accompaniment.onset_threshold == 0.5
