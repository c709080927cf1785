import pytest
import torch

from hafm.errors import AudioError, HafmError, MissingWeightsError
from hafm.tokenizers import codec as codec_module
from hafm.tokenizers.base import AcousticCodec
from hafm.tokenizers.codec import RvqCodec, load_codec, save_codebooks
from hafm.tokenizers.reports.codec import log_mel_distance


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


def test_frame_error_strictly_decreases_with_1_2_4_8_codebooks(small_codec, codec_audio):
    from hafm.tokenizers import rvq

    frames = small_codec.transform.analyze(codec_audio[:, 0])
    flat = frames.reshape(-1, frames.shape[-1])
    codes = small_codec.encode(codec_audio).transpose(1, 2).reshape(flat.shape[0], -1)
    errors = [float((rvq.decode(codes[:, :k], small_codec.codebooks) - flat).pow(2).sum()) for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]


def test_mdct_waveform_error_strictly_decreases_with_1_2_4_8_codebooks(small_mdct_codec, codec_audio):
    codes = small_mdct_codec.encode(codec_audio)
    n = codec_audio.shape[-1]
    errors = [float((small_mdct_codec.decode(codes[:, :k])[..., :n] - codec_audio).pow(2).sum())
              for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]


def test_logmag_codec_codes_repeat_on_a_sustained_note():
    """Why the default is log-magnitude: a held tone keeps its code, where MDCT codes change every frame."""
    t = torch.arange(48_000) / 24_000
    tone = (0.2 * torch.sin(2 * torch.pi * 220.0 * t) + 0.1 * torch.sin(2 * torch.pi * 330.0 * t))[None, None]
    logmag = load_codec("logmag").encode(tone)[0, 0, 5:-5]
    mdct = load_codec("mdct").encode(tone)[0, 0, 5:-5]
    repeats = [float((c[1:] == c[:-1]).float().mean()) for c in (logmag, mdct)]
    assert repeats[0] > 0.75 and repeats[0] > repeats[1] + 0.4


def test_batch_items_are_encoded_independently(small_codec, codec_audio):
    both = small_codec.encode(codec_audio)
    assert torch.equal(both[1:], small_codec.encode(codec_audio[1:]))


def test_saved_codebooks_reload_as_the_same_codec(small_codec, codec_audio, tmp_path):
    path = tmp_path / "cb.safetensors"
    save_codebooks(path, small_codec.codebooks, {**small_codec.metadata, "note": "test"})
    loaded = load_codec(path)
    assert loaded.identity() == small_codec.identity()
    assert torch.equal(loaded.encode(codec_audio), small_codec.encode(codec_audio))
    assert (tmp_path / "cb.json").is_file()


def test_identity_differs_for_other_codebooks(small_codec):
    other = RvqCodec(small_codec.codebooks * 1.5, small_codec.metadata)
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
    monkeypatch.setitem(codec_module.NAMED_CODECS, codec_module.DEFAULT_CODEC, tmp_path / "absent.safetensors")
    with pytest.raises(MissingWeightsError, match="absent.safetensors"):
        load_codec()


def test_shipped_default_codec_has_8_codebooks_of_1024_and_a_fit_record():
    codec = load_codec()
    assert (codec.n_codebooks, codec.codebook_size) == (8, 1024)
    assert codec.metadata["fit_config"]["codebook_size"] == 1024
    assert codec.identity() == load_codec("default").identity()


def test_shipped_default_codec_is_log_magnitude():
    assert load_codec().transform.name == "logmag" and load_codec().n_coarse == 4


def test_shipped_default_codec_log_mel_error_decreases_with_1_2_4_8_codebooks(codec_audio):
    codec = load_codec()
    codes = codec.encode(codec_audio)
    n = codec_audio.shape[-1]
    errors = [log_mel_distance(codec_audio[1, 0], codec.decode(codes[1:, :k])[0, 0, :n]) for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]


def test_unknown_codec_kind_in_a_file_is_refused(small_codec, tmp_path):
    with pytest.raises(HafmError, match="unknown codec kind"):
        RvqCodec(small_codec.codebooks, {"codec": "wavelet-rvq"})


def test_logmag_decoding_stays_bounded_for_out_of_range_frames():
    from hafm.tokenizers.logmag import LogMagTransform

    transform = LogMagTransform(griffin_lim_iters=2)
    wav = transform.synthesize(torch.full((1, 10, transform.dim), 80.0))  # exp(80) would overflow power
    assert torch.isfinite(wav).all() and torch.isfinite(wav.pow(2).sum())


def test_shipped_mdct_codec_waveform_error_decreases_with_1_2_4_8_codebooks(codec_audio):
    codec = load_codec("mdct")
    codes = codec.encode(codec_audio)
    n = codec_audio.shape[-1]
    errors = [float((codec.decode(codes[:, :k])[..., :n] - codec_audio).pow(2).sum()) for k in (1, 2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > errors[3]
