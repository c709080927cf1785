"""Tests of hafm.data.chorales: part selection, timing, tempo, fermatas, repeats, ties."""

import itertools

import pytest

from hafm.data import chorales
from hafm.errors import HafmError


def _path(cid):
    return next(p for p in chorales.chorale_paths() if chorales.chorale_id(p) == cid)


def test_time_map_slows_fermata_regions():
    tm = chorales.TimeMap(bpm=60.0, regions=[(2.0, 3.0)], origin=0.0, stretch=2.0)
    assert [tm(q) for q in (1.0, 2.0, 3.0, 4.0)] == [1.0, 2.0, 4.0, 5.0]


def test_time_map_shifts_origin_to_zero():
    tm = chorales.TimeMap(bpm=120.0, regions=[], origin=1.0, stretch=1.0)
    assert tm(1.0) == 0.0 and tm(3.0) == 1.0


def test_time_map_merges_overlapping_fermatas_of_different_parts():
    tm = chorales.TimeMap(bpm=60.0, regions=[(2.0, 3.0), (2.0, 4.0)], origin=0.0, stretch=2.0)
    assert tm(4.0) == 6.0


def test_first_onset_is_zero(short_chorales):
    perf = chorales.perform(short_chorales["bwv139.6"], seed=0)
    assert min(n.onset for notes in perf.notes.values() for n in notes) == 0.0


def test_score_metronome_mark_is_used(short_chorales):
    perf = chorales.perform(short_chorales["bwv139.6"], seed=0)
    assert perf.bpm_source == "score"


def test_seeded_tempo_is_in_range_and_reproducible(short_chorales):
    a = chorales.perform(short_chorales["bwv101.7"], seed=5)
    b = chorales.perform(short_chorales["bwv101.7"], seed=5)
    assert a.bpm_source == "seeded" and 70.0 <= a.bpm <= 100.0 and a.bpm == b.bpm


def test_tempo_factor_shortens(short_chorales):
    slow = chorales.perform(short_chorales["bwv101.7"], seed=1)
    fast = chorales.perform(short_chorales["bwv101.7"], seed=1, tempo_factor=2.0)
    assert fast.end == pytest.approx(slow.end / 2)


def test_fermatas_lengthen_the_performance(short_chorales):
    plain = chorales.perform(short_chorales["bwv101.7"], seed=1, fermata_stretch=1.0)
    held = chorales.perform(short_chorales["bwv101.7"], seed=1)
    assert held.end > plain.end * 1.05


def test_transpose_shifts_every_pitch(short_chorales):
    base = chorales.perform(short_chorales["bwv101.7"], seed=1)
    up = chorales.perform(short_chorales["bwv101.7"], seed=1, transpose=3)
    assert [n.pitch + 3 for n in base.notes["bass"]] == [n.pitch for n in up.notes["bass"]]


def test_ties_are_merged(short_chorales):
    from music21 import converter

    path = short_chorales["bwv101.7"]
    written = sum(len(p.flatten().notes) for p in converter.parse(str(path)).parts)
    perf = chorales.perform(path, seed=1)
    assert sum(len(v) for v in perf.notes.values()) < written


def test_repeats_are_expanded():
    from music21 import converter

    path = _path("bwv113.8")
    written = len(converter.parse(str(path)).parts[0].flatten().notes)
    perf = chorales.perform(path, seed=1)
    assert perf.repeats_expanded and len(perf.notes["soprano"]) > written


def test_parts_stay_aligned_at_the_end(short_chorales):
    perf = chorales.perform(short_chorales["bwv139.6"], seed=0)
    ends = [notes[-1].offset for notes in perf.notes.values()]
    assert max(ends) - min(ends) < 1e-9


def test_beats_start_at_zero_and_increase(short_chorales):
    perf = chorales.perform(short_chorales["bwv139.6"], seed=0)
    beats = [b for b in perf.beats if b >= 0]
    assert beats[0] == 0.0 and all(b2 > b1 for b1, b2 in itertools.pairwise(beats))


def test_non_satb_score_is_refused():
    path = _path("bwv1.6")  # horn + SATB
    with pytest.raises(HafmError, match="not a 4-part SATB chorale"):
        chorales.perform(path, seed=0)
