"""Vocal note decoding on constructed CREPE outputs whose notes are known (no network)."""

import numpy as np
import pytest

from benchmark.music.vocal import Crepe

HOP_S = 0.02
SR_AUDIO = 24_000


def _output(f0_hz, periodicity=0.9, onset=None):
    f0 = np.asarray(f0_hz, dtype=np.float32)
    return {"f0": f0, "periodicity": np.full(len(f0), periodicity, np.float32),
            "onset": np.zeros(len(f0), np.float32) if onset is None else np.asarray(onset, np.float32)}


def test_two_sung_pitches_are_two_notes():
    notes = Crepe().decode(_output([440.0] * 25 + [493.9] * 25))  # A4 for 0.5 s, then B4
    assert notes.pitch.tolist() == [69, 71]
    assert notes.onset == pytest.approx([0.0, 0.5]) and notes.offset == pytest.approx([0.5, 1.0])


def test_an_onset_peak_splits_a_repeated_pitch():
    onset = np.zeros(50)
    onset[25] = 1.0
    notes = Crepe().decode(_output([440.0] * 50, onset=onset))
    assert notes.pitch.tolist() == [69, 69] and notes.onset == pytest.approx([0.0, 0.5])


def test_unvoiced_frames_and_short_blips_make_no_notes():
    assert len(Crepe().decode(_output([440.0] * 50, periodicity=0.1))) == 0
    assert len(Crepe(median_frames=1).decode(_output([440.0] * 3))) == 0  # 60 ms < min_note_s 80 ms


def test_vibrato_within_a_semitone_stays_one_note():
    cents = 40 * np.sin(np.arange(50) / 3)  # +-40 cents around A4
    assert Crepe().decode(_output(440.0 * 2 ** (cents / 1200))).pitch.tolist() == [69]


def test_onset_lag_moves_every_note_earlier():
    out = _output([440.0] * 35)
    out["periodicity"][:10] = 0.0  # silent for 0.2 s
    notes = Crepe(onset_lag_s=0.04).decode(out)
    assert notes.onset == pytest.approx([0.2 - 0.04])


def test_contour_is_nan_where_unvoiced():
    out = _output([440.0] * 4)
    out["periodicity"][:2] = 0.0
    times, f0 = Crepe().contour(out)
    assert times == pytest.approx([0, HOP_S, 2 * HOP_S, 3 * HOP_S]) and np.isnan(f0[:2]).all() and (f0[2:] == 440).all()


def test_refine_snaps_note_onsets_to_the_audio_attacks(line, tones):
    burst = tones([69], SR_AUDIO, 0.4) * np.exp(-np.arange(int(0.4 * SR_AUDIO)) / SR_AUDIO * 17).astype(np.float32)
    audio = np.zeros(2 * SR_AUDIO, np.float32)
    for t in (0.3, 1.0):
        audio[int(t * SR_AUDIO): int(t * SR_AUDIO) + len(burst)] += burst
    late = line([69, 69], [0.38, 1.09], 0.3)  # pitch settled 80-90 ms late
    refined = Crepe(attack_lag_s=0.0).refine(late, audio, SR_AUDIO)
    assert refined.onset == pytest.approx([0.3, 1.0], abs=0.02)
    assert Crepe(snap_s=0.0).refine(late, audio, SR_AUDIO) is late


def test_the_real_tracker_gives_the_same_f0_twice_and_leaves_the_global_random_state_alone():
    t = np.arange(SR_AUDIO) / SR_AUDIO  # 1 s of a sung-like A4 with vibrato
    wav = (0.3 * np.sin(2 * np.pi * 440 * t + 2 * np.sin(2 * np.pi * 5 * t))).astype(np.float32)
    crepe = Crepe(hop_s=0.04)
    np.random.seed(1)
    first = crepe.model_output(wav, SR_AUDIO)["f0"]
    after_first = np.random.random()
    np.random.seed(1)
    np.random.random()  # another global state before the second pass
    second = crepe.model_output(wav, SR_AUDIO)["f0"]
    np.random.seed(1)
    assert np.array_equal(first, second) and np.random.random() == after_first
