import numpy as np

from benchmark.proxies import harmonic_compatibility, proxies, rhythm_alignment, tonality

SR = 24_000


def test_matching_accompaniment_has_better_rhythm_than_another_song(song, other_song):
    vocals, accomp = song
    assert rhythm_alignment(vocals, accomp, SR) > rhythm_alignment(vocals, other_song, SR) + 0.2


def test_matching_accompaniment_has_better_harmony_than_another_song(song, other_song):
    vocals, accomp = song
    assert harmonic_compatibility(vocals, accomp, SR) > harmonic_compatibility(vocals, other_song, SR) + 0.1


def test_silent_accompaniment_scores_zero_rhythm(song):
    vocals, accomp = song
    assert rhythm_alignment(vocals, accomp * 0, SR) == 0.0


def test_proxies_returns_every_score_in_range(song):
    scores = proxies(*song, SR)
    assert set(scores) == {"rhythm", "harmony", "tonality"}
    assert all(-1.0 <= v <= 1.0 for v in scores.values())


def test_sustained_tones_are_tonal():
    t = np.arange(2 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)).astype(np.float32)
    assert tonality(chord, SR) > 0.9


def test_white_noise_splits_about_evenly_between_harmonic_and_percussive():
    noise = np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    assert 0.35 < tonality(noise, SR) < 0.6


def test_silence_has_zero_tonality():
    assert tonality(np.zeros(SR, dtype=np.float32), SR) == 0.0
