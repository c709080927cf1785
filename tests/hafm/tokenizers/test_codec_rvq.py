import itertools

import torch

from hafm.tokenizers import rvq
from hafm.tokenizers.fitting.codec import CodecFitConfig, fit_codebooks


def _vectors(n=3000, d=320, seed=0):
    g = torch.Generator().manual_seed(seed)
    scales = torch.logspace(0, -2, d)  # a decaying "spectrum", like MDCT frames of music
    return torch.randn(n, d, generator=g) * scales


def test_rvq_error_strictly_decreases_with_each_stage_on_fit_data():
    frames = _vectors()
    config = CodecFitConfig(codebook_size=16, kmeans_iters=4, init_frames=500)
    codebooks, fit_errors = fit_codebooks(frames, config)
    codes = rvq.encode(frames, codebooks)
    errors = [float((frames - rvq.decode(codes[:, :k], codebooks)).pow(2).sum()) for k in range(1, 9)]
    assert all(b < a for a, b in itertools.pairwise(errors))
    assert all(b < a for a, b in itertools.pairwise(fit_errors))


def test_rvq_error_never_increases_for_any_single_vector():
    frames = _vectors()
    codebooks, _ = fit_codebooks(frames, CodecFitConfig(codebook_size=16, kmeans_iters=3, init_frames=500))
    held_out = _vectors(500, seed=1) * 3.0  # louder than anything seen in the fit
    codes = rvq.encode(held_out, codebooks)
    errors = torch.stack([(held_out - rvq.decode(codes[:, :k], codebooks)).pow(2).sum(1) for k in range(1, 9)])
    assert bool((errors[1:] <= errors[:-1]).all())


def test_every_fitted_codebook_keeps_centroid_zero_at_zero():
    codebooks, _ = fit_codebooks(_vectors(), CodecFitConfig(codebook_size=16, kmeans_iters=2, init_frames=500))
    assert bool((codebooks[:, 0] == 0).all())


def test_nearest_chooses_zero_when_no_centroid_helps():
    codebook = torch.zeros(4, 320)
    codebook[1:, 0] = torch.tensor([1.0, 2.0, 3.0])
    vectors = torch.zeros(2, 320)
    vectors[0, 1] = 1.0  # orthogonal to every non-zero centroid
    vectors[1, 0] = 2.1
    assert rvq.nearest(vectors, codebook, chunk=1).tolist() == [0, 2]


def test_fit_is_deterministic_for_a_seed():
    frames = _vectors(1500)
    config = CodecFitConfig(codebook_size=16, n_codebooks=2, kmeans_iters=2, init_frames=300, seed=3)
    first, _ = fit_codebooks(frames, config)
    second, _ = fit_codebooks(frames, config)
    assert torch.equal(first, second)
