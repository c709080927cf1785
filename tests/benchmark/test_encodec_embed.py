"""EnCodec encoder embeddings from a local checkpoint: a randomly initialised 24 kHz EnCodec (the real
architecture and state-dict format, 15M parameters) saved as encodec_24khz-d7cc33bc.th."""

import numpy as np
import pytest
import torch

from benchmark.embeddings import get_backend
from hafm.errors import MissingWeightsError
from hafm.tokenizers.codec import ENCODEC_CHECKPOINT


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory):
    from encodec import EncodecModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("encodec")
    torch.save(EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), folder / ENCODEC_CHECKPOINT)
    return folder


@pytest.fixture(scope="module")
def encodec(checkpoint_dir):
    return get_backend("encodec", weights=str(checkpoint_dir))


def tone(seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_gives_128_d_latents_at_75_hz_from_any_rate(encodec):
    frames = encodec.embed(tone(2.0, 44_100), 44_100)  # 48,000 samples at 24 kHz / 320
    assert frames.shape == (150, 128) and frames.dtype == np.float32 and np.all(np.isfinite(frames))


def test_is_the_encoder_of_the_checkpoint(checkpoint_dir, encodec):
    state = torch.load(checkpoint_dir / ENCODEC_CHECKPOINT, weights_only=True)
    key = next(k for k in state if k.startswith("encoder."))
    assert torch.equal(encodec.network().state_dict()[key], state[key])


def test_chunked_encoding_keeps_the_frame_count(encodec):
    chunked = get_backend("encodec", model=encodec.network(), chunk_s=0.5)
    wav = tone(2.0, 24_000)
    a, b = encodec.embed(wav, 24_000), chunked.embed(wav, 24_000)
    assert a.shape == b.shape and np.allclose(a[:30], b[:30], atol=1e-5)  # first chunk: same input, same frames


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(MissingWeightsError, match=ENCODEC_CHECKPOINT):
        get_backend("encodec", weights=str(tmp_path)).embed(tone(1.0, 24_000), 24_000)
