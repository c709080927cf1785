import torch

from hafm.sampling import guide, sample, sample_rows, top_k_mask, top_p_mask, with_repeat_bias


def test_guidance_formula_and_scale_one_is_conditional():
    cond, uncond = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    assert torch.equal(guide(cond, uncond, 1.0), cond)
    assert torch.equal(guide(cond, uncond, 3.0), torch.tensor([4.0, -2.0]))


def test_top_k_keeps_exactly_k_tokens():
    logits = torch.randn(5, 50)
    masked = top_k_mask(logits, 7)
    assert torch.equal(torch.isfinite(masked).sum(-1), torch.full((5,), 7))
    kept = torch.isfinite(masked)
    assert bool((logits[kept].view(5, 7).min(-1).values >= logits[~kept].view(5, 43).max(-1).values).all())


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(top_p_mask(logits, 0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_p_mask(logits, 0.1)).tolist() == [[True, False, False, False]]


def test_samplers_do_not_mutate_their_input():
    logits = torch.randn(3, 4, 20)
    copy = logits.clone()
    top_k_mask(logits, 5), top_p_mask(logits, 0.5)
    sample(logits, 0.9, 5, 0.8, torch.Generator().manual_seed(0))
    assert torch.equal(logits, copy)


def test_sampling_is_deterministic_given_the_seed():
    logits = torch.randn(8, 100)
    draws = [sample(logits, 1.0, 50, 0.0, torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


def test_samples_stay_inside_the_top_k():
    logits = torch.randn(4, 3, 100)
    ids = sample(logits, 1.0, 3, 0.0, torch.Generator().manual_seed(0))
    assert ids.shape == (4, 3)
    assert bool((logits.gather(-1, ids[..., None]) >= logits.topk(3).values[..., -1:]).all())


def test_zero_temperature_is_greedy():
    logits = torch.randn(6, 30)
    assert torch.equal(sample(logits, 0.0), logits.argmax(-1))


def test_each_row_draws_from_its_own_generator_whatever_the_other_rows():
    logits = torch.randn(3, 4, 50)
    together = sample_rows(logits, 1.0, 20, 0.0, [torch.Generator().manual_seed(s) for s in (1, 2, 3)])
    alone = sample(logits[1], 1.0, 20, 0.0, torch.Generator().manual_seed(2))
    assert torch.equal(together[1], alone)
    assert together.shape == (3, 4)


def test_repeat_bias_shifts_only_the_previous_tokens_logit_and_leaves_the_input_alone():
    logits = torch.zeros(2, 3, 5)
    previous = torch.tensor([[0, 4, 2], [1, 1, 3]])
    bias = torch.tensor([[2.0, -1.0, 0.0], [0.5, 0.5, 0.5]])
    out = with_repeat_bias(logits, previous, bias)
    expected = torch.zeros(2, 3, 5)
    for b in range(2):
        for k in range(3):
            expected[b, k, previous[b, k]] = bias[b, k]
    assert torch.equal(out, expected) and not logits.any()
