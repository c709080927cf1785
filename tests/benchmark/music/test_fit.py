"""Threshold fitting on constructed transcriptions whose best settings are known."""

from dataclasses import dataclass

import numpy as np
import pytest

from benchmark.music.fit import (balanced_mean, chosen_settings, fit_accompaniment_onsets, grid_search,
                                 metric_selection, note_f1, onset_f)
from benchmark.music.notes import Notes
from benchmark.music.onsets import posteriorgram_onsets


def _notes(rows):
    return Notes.from_array(np.array(rows, dtype=float))


TRUTH = _notes([(t, t + 0.4, 60 + i % 5, 1.0) for i, t in enumerate(np.arange(0, 8, 0.5))])


def test_note_f1_is_one_for_the_truth_and_zero_off_pitch_or_late():
    assert note_f1(TRUTH, TRUTH) == 1.0
    assert note_f1(TRUTH, TRUTH.transposed(1)) == 0.0
    assert note_f1(TRUTH, TRUTH.shifted(0.1)) == 0.0


@dataclass
class Thresholded:
    """A decoder keeping the notes whose confidence reaches ``threshold``, then moved by the lag."""

    threshold: float = 0.5
    onset_lag_s: float = 0.0
    name: str = "fake"

    def decode(self, output):
        rows = output["rows"]
        return _notes(rows[rows[:, 3] >= self.threshold]).earlier(self.onset_lag_s)


def test_grid_search_finds_the_threshold_and_the_latency():
    late = TRUTH.shifted(0.07).to_array()  # the model reports every onset 70 ms late
    spurious = _notes([(t + 0.25, t + 0.3, 70, 0.2) for t in np.arange(0, 8, 0.5)]).to_array()
    outputs = [{"rows": np.concatenate([late, spurious])}]
    best, rows = grid_search(Thresholded(), outputs, [TRUTH], {"threshold": (0.1, 0.5)})
    assert best["threshold"] == 0.5 and best["f1"] == pytest.approx(1.0)
    assert abs(best["onset_lag_s"] - 0.07) <= 0.05 and len(rows) == 2 * 9
    assert next(r for r in rows if r["threshold"] == 0.5 and r["onset_lag_s"] == 0.0)["f1"] == 0.0


def _report(f1_20ms, f1_40ms):
    return {"accompaniment": {"best": {"onset_threshold": 0.4, "f1": 0.7}},
            "vocal": {"hop_0.02": {"best": {"voicing_threshold": 0.5, "f1": f1_20ms}},
                      "hop_0.04": {"best": {"voicing_threshold": 0.3, "f1": f1_40ms}}}}


def test_chosen_settings_take_the_cheaper_vocal_hop_unless_the_finer_one_is_clearly_better():
    assert chosen_settings(_report(0.61, 0.60)) == {"accompaniment": {"onset_threshold": 0.4},
                                                    "vocal": {"hop_s": 0.04, "voicing_threshold": 0.3}}
    assert chosen_settings(_report(0.70, 0.60))["vocal"] == {"hop_s": 0.02, "voicing_threshold": 0.5}


def test_metric_selection_prefers_metrics_that_separate_own_from_other_songs():
    beats = np.arange(0, 8, 0.5)
    keys = (0, 1, 2)  # another song's accompaniment is a semitone or a tone off: always dissonant
    vocal = [_notes([(t, t + 0.5, 72 + k, 1) for t in beats]) for k in keys]
    accomp = [_notes([(t, t + 0.5, 48 + k, 1) for t in beats]) for k in keys]
    out = metric_selection(vocal, accomp, ["a", "b", "c"], 8.0)
    consonance = out["candidates"]["consonance"]
    assert (consonance["true_pair"], consonance["other_song"]) == (1.0, 0.0)
    assert out["candidates"]["onset_f"]["effect_size_d"] == 0.0  # same beats everywhere: no separation
    assert out["chance_onset_f"] == 1.0


def _snapped(note_f1, snap_s):
    return {"best": {"snap_s": snap_s, "attack_delta": 0.2, "attack_lag_s": 0.0, "onset_f": 0.9, "note_f1": note_f1}}


def test_chosen_settings_add_the_fitted_onset_settings_and_pick_the_hop_by_the_snapped_notes():
    report = {**_report(0.70, 0.60), "onsets": {  # before snapping the 20 ms hop was clearly better
        "vocal": {"hop_0.02": _snapped(0.85, 0.15), "hop_0.04": _snapped(0.84, 0.1)},
        "accompaniment": {"best": {"peak_threshold": 0.6, "peak_lag_s": 0.02, "onset_f": 0.9, "notes_onset_f": 0.8}}}}
    chosen = chosen_settings(report)
    assert chosen["vocal"] == {"hop_s": 0.04, "voicing_threshold": 0.3, "snap_s": 0.1, "attack_delta": 0.2,
                               "attack_lag_s": 0.0}
    assert chosen["accompaniment"] == {"onset_threshold": 0.4, "peak_threshold": 0.6, "peak_lag_s": 0.02}
    report["onsets"]["vocal"]["hop_0.02"] = _snapped(0.90, 0.15)
    assert chosen_settings(report)["vocal"]["hop_s"] == 0.02


def test_onset_f_and_the_timbre_balanced_mean():
    assert onset_f(TRUTH, TRUTH.onset) == 1.0 and onset_f(TRUTH, TRUTH.onset + 0.1) == 0.0
    assert balanced_mean([1.0, 1.0, 1.0, 0.0], ["organ", "organ", "organ", "piano"]) == 0.5


def test_accompaniment_onset_fit_finds_the_posterior_threshold_and_latency():
    times = np.arange(1600) * 0.005
    onset = np.zeros((1600, 88), np.float32)
    for t in TRUTH.onset:  # true onsets peak at 0.9, 85 ms late; spurious peaks at 0.6 between them
        onset[int(round((t + 0.085) / 0.005)), 40] = 0.9
        onset[int(round((t + 0.25) / 0.005)), 50] = 0.6

    @dataclass
    class Peaks:
        peak_threshold: float = 0.5
        peak_lag_s: float = 0.0

        def onset_times(self, output):
            return posteriorgram_onsets(output["onset"], times, self.peak_threshold, self.peak_lag_s)

        def decode(self, output):
            return TRUTH.shifted(0.2)

    best, rows = fit_accompaniment_onsets(Peaks(), [{"onset": onset}], [TRUTH], ["organ"])
    assert best["peak_threshold"] >= 0.7 and best["peak_lag_s"] == 0.04 and best["onset_f"] == 1.0
    assert best["notes_onset_f"] == 0.0 and len(rows) == 5 * 6
