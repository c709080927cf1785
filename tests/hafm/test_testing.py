"""The test kit's contract checks accept every shipped tokenizer and the stand-ins, and refuse a broken codec."""

import pytest
import torch

from hafm.testing import EnergySemantic, ToneCodec, check_acoustic_codec, check_semantic_tokenizer, tiny_cascade


@pytest.mark.parametrize("name", ["logmag", "mdct"])
def test_shipped_codecs_keep_the_contract(name):
    from hafm.tokenizers.codec import load_codec

    check_acoustic_codec(load_codec(name))


def test_stand_ins_keep_the_contracts():
    check_acoustic_codec(ToneCodec())
    check_semantic_tokenizer(EnergySemantic())


@pytest.mark.slow
def test_shipped_semantic_tokenizer_keeps_the_contract():
    from hafm.tokenizers.semantic import load_semantic

    check_semantic_tokenizer(load_semantic())


class OneFrameShort(ToneCodec):
    """Drops the last frame: the mistake of ``n // hop`` instead of ``ceil(n / hop)``."""

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        return super().encode(wav)[..., :-1]


def test_contract_catches_a_codec_that_drops_the_last_frame():
    with pytest.raises(AssertionError):
        check_acoustic_codec(OneFrameShort())


def test_tiny_cascade_is_seeded_and_in_eval_mode():
    a, b = tiny_cascade(seed=3), tiny_cascade(seed=3)
    assert not a.coarse.training and torch.equal(a.coarse.head.weight, b.coarse.head.weight)
