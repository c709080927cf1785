"""The test kit: its contract checks accept every shipped tokenizer and the stand-ins and refuse a
broken codec; its example transform becomes a codec through one registry line."""

import pytest
import torch

from hafm.testing import (
    EnergySemantic,
    RawFrames,
    ToneCodec,
    check_acoustic_codec,
    check_semantic_tokenizer,
    melody,
    tiny_cascade,
    write_track,
)


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


def test_raw_frames_reconstruct_the_waveform_exactly():
    wav = torch.randn(2, 1000)
    frames = RawFrames().analyze(wav)
    assert frames.shape == (2, 4, 320) and torch.equal(RawFrames().synthesize(frames)[:, :1000], wav)


@pytest.fixture
def two_song_tree(tmp_path):
    """A MUSDB18-HQ tree of two 2 s songs per subset (melody vocals, bass line) at 24 kHz."""
    for subset in ("train", "test"):
        for k in range(2):
            stems = {"vocals": melody([72 + k, 76, 79], 0.25, 24_000, 2.0),
                     "bass": melody([36 + k, 43], 0.5, 24_000, 2.0)}
            write_track(tmp_path / "tree", subset, f"{subset} {k}", stems, 24_000)
    return tmp_path / "tree"


def test_a_transform_added_to_TRANSFORMS_is_fitted_and_loaded_as_a_codec(two_song_tree, tmp_path, monkeypatch):
    from hafm.cli import main
    from hafm.tokenizers import codec

    monkeypatch.setitem(codec.TRANSFORMS, "raw", RawFrames)  # the one line a new codec adds to codec.py
    (tmp_path / "fit.toml").write_text('codebook_size = 16\ninit_frames = 300\nkmeans_iters = 2\npart = "all"\n')
    out = tmp_path / "raw.safetensors"
    assert main(["codec", "fit", "--root", str(two_song_tree), "--out", str(out), "--transform", "raw",
                 "--config", str(tmp_path / "fit.toml")]) == 0
    fitted = codec.load_codec(out)
    assert isinstance(fitted.transform, RawFrames) and fitted.identity().startswith("raw-rvq-")
    check_acoustic_codec(fitted)


def test_an_unregistered_transform_is_refused_by_name(two_song_tree, tmp_path, capsys):
    from hafm.cli import main

    assert main(["codec", "fit", "--root", str(two_song_tree), "--out", str(tmp_path / "x.safetensors"),
                 "--transform", "wavelet"]) == 2
    assert "unknown codec transform 'wavelet'" in capsys.readouterr().err
