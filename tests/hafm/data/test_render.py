"""Tests of hafm.data.render: synthesis, note ordering, drums, level matching and exact mixing."""

import numpy as np
import pytest

from hafm.data import render
from hafm.data.chorales import NoteEvent, Performance

SR = 16_000


def _notes(*spans, pitch=60):
    return [NoteEvent("soprano", on, off, pitch) for on, off in spans]


def _perf(voice_notes, beats=(), downbeats=()):
    return Performance("test", voice_notes, 60.0, "seeded", True, list(beats), list(downbeats))


def _rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_soundfont_ships_with_pretty_midi():
    assert render.soundfont_path().endswith("TimGM6mb.sf2")


def test_synthesize_has_requested_length_and_sound():
    wav = render.synthesize([(_notes((0.0, 0.5)), 0, 100)], SR, SR)
    assert wav.shape == (SR,) and wav.dtype == np.float32 and _rms(wav[: SR // 2]) > 1e-3


def test_repeated_pitch_is_not_cut_by_its_own_note_off():
    # second note starts exactly when the first ends: the note-off must come first
    wav = render.synthesize([(_notes((0.0, 0.5), (0.5, 1.0)), 19, 100)], int(1.2 * SR), SR)
    assert _rms(wav[int(0.6 * SR): int(0.9 * SR)]) > 0.3 * _rms(wav[int(0.1 * SR): int(0.4 * SR)])


def test_drum_pattern_kick_on_downbeats_snare_on_backbeats():
    perf = _perf({}, beats=[0.0, 1.0, 2.0, 3.0], downbeats=[0.0])
    hits = {(n.onset, n.pitch) for n in render.drum_pattern(perf)}
    assert (0.0, render.KICK) in hits and (1.0, render.SNARE) in hits and (3.0, render.SNARE) in hits
    assert (2.0, render.SNARE) not in hits and sum(p == render.HIHAT for _, p in hits) == 4


def test_choose_patches_is_seeded():
    assert render.choose_patches(3) == render.choose_patches(3)
    assert render.choose_patches(3, "organ").bass == render.PATCH_SETS["organ"][2]


@pytest.fixture
def stems():
    voices = {v: _notes((0.0, 1.0), pitch=p) for v, p in zip(("soprano", "alto", "tenor", "bass"), (72, 64, 57, 48))}
    return render.render_stems(_perf(voices), render.choose_patches(0), SR)


def test_drums_silent_by_default(stems):
    assert set(stems) == set(render.STEMS) and not np.any(stems["drums"])


def test_stems_have_equal_length_with_release_tail(stems):
    assert {len(w) for w in stems.values()} == {int(np.ceil((1.0 + render.RELEASE_TAIL_S) * SR))}


def test_mixture_is_exact_integer_sum(stems):
    pcm = render.mix_to_pcm16(stems, SR)
    total = sum(pcm[k].astype(np.int32) for k in render.STEMS)
    assert np.array_equal(total, pcm["mixture"].astype(np.int32))


def test_mixture_peak_is_safe(stems):
    loud = {k: w * 50 for k, w in stems.items()}
    pcm = render.mix_to_pcm16(loud, SR)
    assert np.abs(pcm["mixture"].astype(np.int32)).max() <= render.PEAK * 32767
