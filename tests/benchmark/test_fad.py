import numpy as np
import pytest

from benchmark.fad import (as_reference, fad, fad_inf, paired_fad_difference, per_song_fad,
                           reference_floor)
from hafm.frechet import FrechetInputError, frechet_distance, gaussian_stats, prepare_reference

D = 6


def songs(rng, n_songs, frames, shift=0.0, scale=1.0):
    """Songs of Gaussian frames [frames, D]; each song has its own offset (songs differ, as in music)."""
    out = {}
    for i in range(n_songs):
        offset = 0.3 * rng.standard_normal(D)
        out[f"song{i:02d}"] = shift + offset + scale * rng.standard_normal((frames, D))
    return out


@pytest.fixture
def reference():
    return songs(np.random.default_rng(100), 30, 40)


@pytest.fixture
def evaluated():
    return songs(np.random.default_rng(200), 20, 30, shift=0.5)


def test_point_value_equals_the_frechet_distance_of_all_frames(reference, evaluated):
    ref_frames = np.concatenate(list(reference.values()))
    eval_frames = np.concatenate(list(evaluated.values()))
    expected = frechet_distance(*gaussian_stats(ref_frames), *gaussian_stats(eval_frames))
    assert fad(reference, evaluated, n_resamples=10).value == pytest.approx(expected, rel=1e-10)


def test_result_counts_songs_and_frames(reference, evaluated):
    result = fad(reference, evaluated, n_resamples=10)
    assert (result.n, result.n_frames, result.n_resamples) == (20, 600, 10)


def test_ci_brackets_the_point_value(reference, evaluated):
    result = fad(reference, evaluated, n_resamples=300)
    assert result.ci_low < result.value < result.ci_high


def test_bootstrap_is_deterministic_for_a_seed(reference, evaluated):
    a = fad(reference, evaluated, n_resamples=50, rng=7)
    b = fad(reference, evaluated, n_resamples=50, rng=np.random.default_rng(7))
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)


def test_different_seeds_give_different_intervals(reference, evaluated):
    a = fad(reference, evaluated, n_resamples=50, rng=1)
    b = fad(reference, evaluated, n_resamples=50, rng=2)
    assert (a.ci_low, a.ci_high) != (b.ci_low, b.ci_high)


def test_prepared_reference_gives_the_same_result(reference, evaluated):
    prepared = as_reference(reference)
    assert fad(prepared, evaluated, n_resamples=20) == fad(reference, evaluated, n_resamples=20)


def test_resampled_value_matches_a_direct_computation(reference, evaluated):
    """A bootstrap weight vector through the sufficient statistics equals FD of the repeated frames."""
    from benchmark.fad import song_stats

    ref = as_reference(reference)
    stats = song_stats(ref, evaluated)
    weights = np.zeros(len(evaluated))
    weights[[0, 3]] = [2, 1]
    arrays = list(evaluated.values())
    frames = np.concatenate([arrays[0], arrays[0], arrays[3]])
    assert stats.fad(ref, weights) == pytest.approx(ref.distance(*gaussian_stats(frames)), rel=1e-10)


def test_per_song_fad_names_every_song(reference, evaluated):
    values = per_song_fad(reference, evaluated)
    assert list(values) == list(evaluated) and all(v > 0 for v in values.values())


def test_paired_bootstrap_detects_a_planted_difference(reference):
    rng = np.random.default_rng(300)
    close = songs(rng, 20, 30, shift=0.1)
    far = {name: frames + 0.8 for name, frames in close.items()}  # same songs, shifted further
    result = paired_fad_difference(reference, close, far, n_resamples=300)
    assert result.diff < 0 and result.ci_high < 0 and result.significant


def test_paired_bootstrap_of_a_system_with_itself_is_zero(reference, evaluated):
    result = paired_fad_difference(reference, evaluated, evaluated, n_resamples=50)
    assert (result.diff, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_swapping_systems_flips_the_sign(reference, evaluated):
    other = {k: v * 1.3 for k, v in evaluated.items()}
    ab = paired_fad_difference(reference, evaluated, other, n_resamples=100, rng=3)
    ba = paired_fad_difference(reference, other, evaluated, n_resamples=100, rng=3)
    assert ab.diff == pytest.approx(-ba.diff) and ab.ci_low == pytest.approx(-ba.ci_high)


def test_paired_bootstrap_refuses_different_songs(reference, evaluated):
    other = dict(evaluated)
    other["extra"] = other.pop("song00")
    with pytest.raises(FrechetInputError, match="different songs"):
        paired_fad_difference(reference, evaluated, other, n_resamples=5)


def test_fad_inf_removes_the_known_one_over_n_bias():
    """Reference N(0, I) exactly, eval frames from the same N(0, I): the true FD is 0, and n frames
    give E[FD] ~ (d + d(d+1)/4) / n (mean error d/n, covariance error ||E||_F^2 / 4 with
    E||E||_F^2 = d(d+1)/n). The 1/n fit must recover the intercept 0 and, averaged over seeds
    (one fit's slope has a ~35% spread), that slope."""
    d = 4
    ref = prepare_reference(np.zeros(d), np.eye(d))
    frames = np.random.default_rng(400).standard_normal((40_000, d))
    results = [fad_inf(ref, frames, n_points=25, min_frames=50, rng=seed) for seed in range(20)]
    assert max(abs(r.value) for r in results) < 0.005
    assert np.mean([r.slope for r in results]) == pytest.approx(d + d * (d + 1) / 4, rel=0.25)
    assert np.mean([r.fads[0] for r in results]) > 0.1  # plain FAD at 50 frames: the bias FAD-inf removes


def test_fad_inf_sizes_span_the_requested_range():
    rng = np.random.default_rng(401)
    ref = prepare_reference(np.zeros(3), np.eye(3))
    result = fad_inf(ref, rng.standard_normal((500, 3)), n_points=5, min_frames=100)
    assert result.sizes == (100, 200, 300, 400, 500) and len(result.fads) == 5


def test_reference_floor_is_small_for_one_distribution_and_large_for_a_mixture():
    same = songs(np.random.default_rng(500), 20, 40)
    mixed = dict(same)
    for name in list(mixed)[:10]:
        mixed[name] = mixed[name] + 3.0
    assert reference_floor(same, n_splits=10).value < reference_floor(mixed, n_splits=10).value


def test_reference_floor_is_deterministic_for_a_seed():
    same = songs(np.random.default_rng(501), 12, 20)
    assert reference_floor(same, n_splits=5, rng=9) == reference_floor(same, n_splits=5, rng=9)


def test_ungrouped_eval_embeddings_are_refused(reference):
    with pytest.raises(FrechetInputError, match="grouped"):
        fad(reference, np.zeros((10, D)))


def test_a_single_song_cannot_be_bootstrapped(reference, evaluated):
    with pytest.raises(FrechetInputError, match="at least 2 songs"):
        fad(reference, {"only": evaluated["song00"]})


def test_wrong_dimension_is_refused(reference):
    with pytest.raises(FrechetInputError, match="expected frames"):
        fad(reference, {"a": np.zeros((5, D + 1)), "b": np.zeros((5, D + 1))})


def test_nan_embeddings_are_refused(reference, evaluated):
    bad = dict(evaluated)
    bad["song01"] = bad["song01"].copy()
    bad["song01"][0, 0] = np.nan
    with pytest.raises(FrechetInputError, match="NaN"):
        fad(reference, bad)


def test_fewer_frames_than_dimensions_still_match_the_exact_value():
    """n < d: the resampling statistics take the singular-value fallback and stay exact."""
    from tools.parity import exact_distance

    rng = np.random.default_rng(600)
    ref_frames = rng.standard_normal((200, 16))
    few = {f"s{i}": rng.standard_normal((3, 16)) + 0.2 for i in range(4)}  # 12 frames in 16 dimensions
    with pytest.warns(UserWarning, match="12 frames < 16 dimensions"):
        value = fad(ref_frames, few, n_resamples=5).value
    assert value == pytest.approx(exact_distance(ref_frames, np.concatenate(list(few.values()))), rel=1e-9)


def test_resamples_of_few_frames_give_the_same_values_from_the_gram_matrix_as_from_an_svd(monkeypatch):
    """n < d: a resample's trace term from the frames' Gram matrix equals the nuclear norm of the
    drawn frames (the route taken when the Gram matrix is too large to keep)."""
    import benchmark.fad as fad_module

    rng = np.random.default_rng(650)
    ref = as_reference(rng.standard_normal((300, 40)))
    few = {f"s{i}": rng.standard_normal((3, 40)) + 0.2 for i in range(8)}  # 24 frames in 40 dimensions
    weights = np.array([2.0, 0, 1, 1, 0, 3, 1, 0])
    with_gram = fad_module.song_stats(ref, few)
    monkeypatch.setattr(fad_module, "GRAM_MAX_FRAMES", 10)
    without_gram = fad_module.song_stats(ref, few)
    assert with_gram.gram is not None and without_gram.gram is None
    assert with_gram.fad(ref, weights) == pytest.approx(without_gram.fad(ref, weights), rel=1e-9)


def test_ci_is_centred_on_the_value_when_resampling_inflates_fad():
    """Few frames per dimension: resampled FADs sit far above the value (duplicated songs hold
    fewer distinct frames); the reported interval still brackets the value and the shift is `bias`."""
    rng = np.random.default_rng(700)
    d = 24
    ref_frames = rng.standard_normal((2000, d))
    few = {f"s{i}": rng.standard_normal((3, d)) for i in range(15)}  # 45 frames for 24 dimensions
    result = fad(ref_frames, few, n_resamples=300)
    assert result.bias > 0.1 * result.value and result.ci_low < result.value < result.ci_high


def test_fad_interval_never_goes_below_zero_with_few_songs():
    import numpy as np

    from benchmark.fad import fad

    rng = np.random.default_rng(3)
    reference = rng.standard_normal((400, 4))
    songs = {f"s{i}": rng.standard_normal((6, 4)) for i in range(3)}
    assert fad(reference, songs, n_resamples=200, rng=0).ci_low >= 0.0
