import pytest
import torch

from hafm.errors import MissingWeightsError
from hafm.tokenizers.codec import ENCODEC_CHECKPOINT, EncodecCodec, load_codec


def test_missing_encodec_weights_name_the_expected_file(tmp_path):
    with pytest.raises(MissingWeightsError, match=ENCODEC_CHECKPOINT):
        load_codec(tmp_path)


def test_encodec_name_looks_in_the_torch_hub_cache_only(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(MissingWeightsError, match=str(tmp_path / "hub" / "checkpoints")):
        load_codec("encodec")


@pytest.fixture(scope="module")
def encodec_dir(tmp_path_factory):
    """A real-size EnCodec 24 kHz model with random weights, saved under the official file name."""
    from encodec import EncodecModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("encodec")
    torch.save(EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), folder / ENCODEC_CHECKPOINT)
    return folder


@pytest.mark.slow
def test_real_encodec_codes_are_b_8_t_at_75_hz(encodec_dir):
    codec = load_codec(encodec_dir)
    assert isinstance(codec, EncodecCodec)
    codes = codec.encode(torch.randn(2, 1, 4_801) * 0.1)
    assert codes.shape == (2, 8, 16) and codes.dtype == torch.int64


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_real_encodec_decodes_any_prefix_to_t_times_320(encodec_dir, k):
    codec = load_codec(encodec_dir / ENCODEC_CHECKPOINT)
    codes = codec.encode(torch.randn(1, 1, 3_200) * 0.1)
    assert codec.decode(codes[:, :k]).shape == (1, 1, 3_200)


@pytest.mark.slow
def test_real_encodec_identity_follows_the_weights_file(encodec_dir):
    assert load_codec(encodec_dir).identity().startswith("encodec24k-")
