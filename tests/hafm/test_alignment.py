import pytest

from hafm.tokenizers import alignment as al


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1.0, 3.333, 7.77, 10.0, 61.1])
def test_two_semantic_frames_span_three_acoustic_frames(seconds):
    n24 = max(1, round(seconds * 24_000))
    n16 = max(1, round(seconds * 16_000))
    t_s = al.semantic_frames(n16, 16_000)
    t_a = al.acoustic_frames(n24, 24_000)
    assert t_a == t_s * 3 // 2
    assert al.acoustic_from_semantic(t_s) == t_a == int(t_s * 75 / 50)
    assert al.semantic_from_acoustic(t_a) == t_s


@pytest.mark.parametrize("n", [1, 319, 320, 959, 960, 961, 24_001])
def test_padded_length_is_whole_blocks_and_never_shorter(n):
    p = al.padded_length(n, 24_000)
    assert p >= n and p % 960 == 0 and p - n < 960


def test_acoustic_frames_match_encodec_ceil_rule_after_padding():
    n = al.padded_length(12_345, 24_000)
    assert al.acoustic_frames(12_345, 24_000) == -(-n // al.ACOUSTIC_HOP)


def test_rate_without_whole_block_is_refused():
    with pytest.raises(ValueError, match="40 ms"):
        al.block_samples(22_051)


def test_empty_input_is_refused():
    with pytest.raises(ValueError):
        al.padded_length(0, 16_000)
