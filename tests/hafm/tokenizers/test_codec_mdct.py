import pytest
import torch

from hafm.tokenizers.mdct import HOP, imdct, mdct, n_frames


@pytest.mark.parametrize("n", [1, 319, 320, 321, 24_000 + 7])
def test_mdct_has_ceil_n_over_320_frames(n):
    assert mdct(torch.randn(2, n)).shape == (2, -(-n // 320), HOP)


@pytest.mark.parametrize("n", [1, 321, 24_000 + 7])
def test_mdct_reconstructs_perfectly_and_pads_with_zeros(n):
    wav = torch.randn(2, n, generator=torch.Generator().manual_seed(n))
    out = imdct(mdct(wav))
    assert out.shape == (2, n_frames(n) * HOP)
    assert (out[:, :n] - wav).abs().max() < 1e-5
    assert float(out[:, n:].abs().sum()) < 1e-3


def test_mdct_is_orthonormal_energy_is_preserved():
    wav = torch.randn(3, 9_600 + 11, generator=torch.Generator().manual_seed(0))
    ratio = mdct(wav).pow(2).sum() / wav.pow(2).sum()
    assert abs(float(ratio) - 1.0) < 1e-5


def test_mdct_refuses_wrong_rank():
    with pytest.raises(ValueError):
        mdct(torch.randn(1, 1, 640))
