import torch

from hafm.model.patterns import apply_delay, delayed_length, revert_delay, valid_mask


def test_delay_round_trip_is_exact():
    codes = torch.randint(0, 1024, (3, 4, 17))
    delayed = apply_delay(codes, pad_id=1024)
    assert delayed.shape == (3, 4, delayed_length(17, 4))
    assert torch.equal(revert_delay(delayed, 17), codes)


def test_delay_shifts_codebook_k_by_k_steps():
    codes = torch.arange(12).view(1, 3, 4)
    delayed = apply_delay(codes, pad_id=-1)
    assert delayed[0].tolist() == [[0, 1, 2, 3, -1, -1], [-1, 4, 5, 6, 7, -1], [-1, -1, 8, 9, 10, 11]]


def test_valid_mask_marks_exactly_the_non_pad_steps():
    codes = torch.randint(0, 5, (1, 4, 9))
    delayed = apply_delay(codes, pad_id=99)
    assert torch.equal(valid_mask(9, 4), delayed[0] != 99)


def test_revert_works_on_logits():
    logits = torch.randn(2, 4, delayed_length(6, 4), 7)
    back = revert_delay(logits, 6)
    assert back.shape == (2, 4, 6, 7)
    assert torch.equal(back[:, 3, 2], logits[:, 3, 5])
