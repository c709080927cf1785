import numpy as np

from benchmark.scoring import score_target


def _songs(rng, shift, n_songs=8, frames=60, d=6):
    return {f"s{i}": rng.standard_normal((frames, d)) + shift for i in range(n_songs)}


def test_scores_rank_systems_by_distance_and_pair_them():
    rng = np.random.default_rng(0)
    reference = _songs(rng, 0.0)
    systems = {"three_stage": _songs(rng, 0.2), "two_stage": _songs(rng, 1.0), "random": _songs(rng, 2.0)}
    res = score_target("b", "mix", reference, systems, n_resamples=50, seed=0)
    fad = {r["system"]: r["fad"] for r in res["fad"]}
    assert fad["three_stage"] < fad["two_stage"] < fad["random"]
    pair = next(p for p in res["paired"] if (p["a"], p["b"]) == ("three_stage", "two_stage"))
    assert pair["ci_high"] < 0
    assert len(res["per_song"]) == 3 * 8 and res["floor"] >= 0


def test_fad_inf_is_missing_rather_than_guessed_with_few_frames():
    rng = np.random.default_rng(1)
    reference = _songs(rng, 0.0, d=20)
    systems = {"random": _songs(rng, 1.0, n_songs=4, frames=5, d=20)}
    res = score_target("b", "accompaniment", reference, systems, n_resamples=20, seed=0)
    assert res["fad"][0]["fad_inf"] is None
