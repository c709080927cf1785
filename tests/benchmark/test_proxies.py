from benchmark.proxies import harmonic_compatibility, proxies, rhythm_alignment

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


def test_proxies_returns_both_scores_in_range(song):
    scores = proxies(*song, SR)
    assert set(scores) == {"rhythm", "harmony"}
    assert all(-1.0 <= v <= 1.0 for v in scores.values())
