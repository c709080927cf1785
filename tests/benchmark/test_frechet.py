import numpy as np
import pytest
import scipy.linalg

from hafm.frechet import (FewFramesWarning, FrechetInputError, frechet_distance, gaussian_stats,
                               prepare_reference)


def random_spd(rng, d, n=None):
    """Sample covariance of n Gaussian frames through a random mixing matrix (SPD when n > d)."""
    n = n or 4 * d
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    return np.cov(x, rowvar=False)


def sqrtm_fd(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def test_equal_gaussians_give_zero():
    rng = np.random.default_rng(0)
    s = random_spd(rng, 16)
    mu = rng.standard_normal(16)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_covariances_match_the_scalar_formula():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    v1, v2 = rng.uniform(0.1, 3, 8), rng.uniform(0.1, 3, 8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-12)


def test_distance_is_symmetric():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(12), rng.standard_normal(12)
    s1, s2 = random_spd(rng, 12), random_spd(rng, 12)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_invariant_to_a_common_orthogonal_rotation():
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.standard_normal(10), rng.standard_normal(10)
    s1, s2 = random_spd(rng, 10), random_spd(rng, 10)
    q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    rotated = frechet_distance(q @ mu1, q @ s1 @ q.T, q @ mu2, q @ s2 @ q.T)
    assert rotated == pytest.approx(frechet_distance(mu1, s1, mu2, s2), rel=1e-10)


@pytest.mark.parametrize("d", [8, 64, 128])
def test_agrees_with_scipy_sqrtm_on_random_spd(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(sqrtm_fd(mu1, s1, mu2, s2), rel=1e-9)


def test_singular_covariances_give_a_real_non_negative_value():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((10, 32))  # 10 frames in 32 dimensions: rank 9
    mu, s = x.mean(0), np.cov(x, rowvar=False)
    value = frechet_distance(mu, s, mu, s)
    assert isinstance(value, float) and 0.0 <= value < 1e-6


def test_prepared_reference_gives_the_same_value_as_the_one_shot_function():
    rng = np.random.default_rng(5)
    mu1, mu2 = rng.standard_normal(20), rng.standard_normal(20)
    s1, s2 = random_spd(rng, 20), random_spd(rng, 20)
    ref = prepare_reference(mu1, s1)
    assert ref.distance(mu2, s2) == frechet_distance(mu1, s1, mu2, s2)


def test_reference_square_root_squares_back_to_sigma():
    rng = np.random.default_rng(6)
    s = random_spd(rng, 16)
    r = prepare_reference(np.zeros(16), s).sqrt_sigma
    np.testing.assert_allclose(r @ r, s, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_covariance_is_refused(bad):
    s = np.eye(4)
    s[1, 1] = bad
    with pytest.raises(FrechetInputError, match="NaN or inf"):
        frechet_distance(np.zeros(4), s, np.zeros(4), np.eye(4))


def test_shape_mismatch_is_refused():
    with pytest.raises(FrechetInputError, match="dimension mismatch"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(5), np.eye(5))


def test_covariance_not_matching_its_mean_is_refused():
    with pytest.raises(FrechetInputError, match="shape"):
        frechet_distance(np.zeros(4), np.eye(3), np.zeros(4), np.eye(4))


def test_non_symmetric_covariance_is_refused():
    s = np.eye(4)
    s[0, 1] = 0.5
    with pytest.raises(FrechetInputError, match="not symmetric"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), s)


def test_indefinite_covariance_is_refused():
    s = np.diag([1.0, 1.0, -0.5])
    with pytest.raises(FrechetInputError, match="positive semi-definite"):
        frechet_distance(np.zeros(3), s, np.zeros(3), np.eye(3))


def test_fewer_frames_than_dimensions_warns():
    frames = np.random.default_rng(7).standard_normal((5, 8))
    with pytest.warns(FewFramesWarning, match="5 frames < 8 dimensions"):
        gaussian_stats(frames)


def test_stats_use_ddof_one_like_every_fad_library():
    frames = np.random.default_rng(8).standard_normal((50, 3))
    _, sigma = gaussian_stats(frames)
    np.testing.assert_allclose(sigma, np.cov(frames, rowvar=False, ddof=1))
