import torch

from hafm.model.cache import LayerCache
from hafm.model.layers import Attention, GEGLU, RelativePositionBias, RMSNorm, geglu_hidden, relative_bucket


def test_rmsnorm_gives_unit_rms():
    x = torch.randn(4, 10, 16) * 7
    y = RMSNorm(16)(x)
    assert torch.allclose(y.pow(2).mean(-1), torch.ones(4, 10), atol=1e-3)


def test_geglu_hidden_rounds_up_to_64():
    assert geglu_hidden(256, 8 / 3) == 704
    assert GEGLU(32, 64)(torch.randn(2, 3, 32)).shape == (2, 3, 32)


def test_buckets_are_exact_for_short_and_capped_for_long_distances():
    d = torch.arange(0, 1000)
    b = relative_bucket(d, n_buckets=32, max_distance=128)
    assert torch.equal(b[:16], torch.arange(16))
    assert bool((b[1:] >= b[:-1]).all())
    assert int(b[128:].min()) == 31 and int(b.max()) == 31


def test_bias_depends_only_on_distance_and_masks_the_future():
    rel = RelativePositionBias(n_heads=2, n_buckets=8, max_distance=16)
    table = rel.table(20)
    bias = RelativePositionBias.attention_bias(table, q_start=5, q_len=3, k_len=8)
    assert bias.shape == (1, 2, 3, 8)
    assert torch.equal(bias[0, :, 0, :6], table[:, [5, 4, 3, 2, 1, 0]])
    assert bool(torch.isneginf(bias[0, :, 0, 6:]).all())
    assert torch.isfinite(bias[0, :, 2]).all()


def test_qk_norm_makes_attention_weights_scale_invariant():
    torch.manual_seed(0)
    attn = Attention(32, n_heads=4, n_kv_heads=4).eval()
    x = torch.randn(1, 6, 32)
    bias = RelativePositionBias.attention_bias(torch.zeros(4, 6), 0, 6, 6)
    # q and k are normalised per head, v is linear in x: the output scales exactly with x
    assert torch.allclose(attn(10 * x, bias), 10 * attn(x, bias), atol=1e-4)


def test_cached_attention_equals_full_attention():
    torch.manual_seed(0)
    attn = Attention(32, n_heads=4, n_kv_heads=2).eval()
    x = torch.randn(2, 7, 32)
    table = torch.randn(4, 7)
    full = attn(x, RelativePositionBias.attention_bias(table, 0, 7, 7))
    cache = LayerCache(2, 2, 16, 8)
    first = attn(x[:, :4], RelativePositionBias.attention_bias(table, 0, 4, 4), cache, 0)
    steps = [attn(x[:, i:i + 1], RelativePositionBias.attention_bias(table, i, 1, i + 1), cache, i)
             for i in range(4, 7)]
    assert torch.allclose(torch.cat([first, *steps], dim=1), full, atol=1e-5)
