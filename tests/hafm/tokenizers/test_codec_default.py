import pytest
import torch

from hafm.errors import AudioError, HafmError, MissingWeightsError
from hafm.tokenizers import codec as codec_module
from hafm.tokenizers.base import AcousticCodec
from hafm.tokenizers.codec import MdctRvqCodec, load_codec, save_codebooks


def test_default_codec_satisfies_the_acoustic_codec_protocol(small_codec):
    assert isinstance(small_codec, AcousticCodec)


def test_encode_gives_8_codebooks_at_75_hz(small_codec, codec_audio):
    codes = small_codec.encode(codec_audio)
    assert codes.shape == (2, 8, -(-codec_audio.shape[-1] // 320))
    assert codes.dtype == torch.int64


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_decode_of_k_codebooks_gives_t_times_320_samples(small_codec, codec_audio, k):
    codes = small_codec.encode(codec_audio)
    assert small_codec.decode(codes[:, :k]).shape == (2, 1, codes.shape[-1] * 320)


def test_reconstruction_error_strictly_decreases_with_1_2_4_8_codebooks(small_codec, codec_audio):
    codes = small_codec.encode(codec_audio)
    n = codec_audio.shape[-1]
    errors = [float((small_codec.decode(codes[:, :k])[..., :n] - codec_audio).pow(2).sum()) for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]


def test_batch_items_are_encoded_independently(small_codec, codec_audio):
    both = small_codec.encode(codec_audio)
    assert torch.equal(both[1:], small_codec.encode(codec_audio[1:]))


def test_saved_codebooks_reload_as_the_same_codec(small_codec, codec_audio, tmp_path):
    path = tmp_path / "cb.safetensors"
    save_codebooks(path, small_codec.codebooks, {"note": "test"})
    loaded = load_codec(path)
    assert loaded.identity() == small_codec.identity()
    assert torch.equal(loaded.encode(codec_audio), small_codec.encode(codec_audio))
    assert (tmp_path / "cb.json").is_file()


def test_identity_differs_for_other_codebooks(small_codec):
    other = MdctRvqCodec(small_codec.codebooks * 1.5)
    assert other.identity() != small_codec.identity()


@pytest.mark.parametrize("bad", [torch.zeros(1, 2, 640), torch.zeros(1, 1, 0), torch.full((1, 1, 640), float("nan"))])
def test_encode_refuses_bad_audio(small_codec, bad):
    with pytest.raises(AudioError):
        small_codec.encode(bad)


@pytest.mark.parametrize(
    "codes",
    [torch.full((1, 8, 3), 16), torch.zeros(1, 9, 3, dtype=torch.int64), torch.zeros(1, 0, 3, dtype=torch.int64)],
)
def test_decode_refuses_bad_codes(small_codec, codes):
    with pytest.raises(HafmError):
        small_codec.decode(codes)


def test_missing_default_codebooks_raise_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(codec_module, "DEFAULT_CODEBOOKS", tmp_path / "absent.safetensors")
    with pytest.raises(MissingWeightsError, match="absent.safetensors"):
        load_codec()


def test_shipped_default_codec_has_8_codebooks_of_1024_and_a_fit_record():
    codec = load_codec()
    assert (codec.n_codebooks, codec.codebook_size) == (8, 1024)
    assert codec.metadata["fit_config"]["codebook_size"] == 1024
    assert codec.identity() == load_codec("default").identity()


def test_shipped_default_codec_error_decreases_with_1_2_4_8_codebooks(codec_audio):
    codec = load_codec()
    codes = codec.encode(codec_audio)
    n = codec_audio.shape[-1]
    errors = [float((codec.decode(codes[:, :k])[..., :n] - codec_audio).pow(2).sum()) for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]
