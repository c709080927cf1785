"""Tests of benchmark.compare_checkpoints: the candidate list and the validation summary."""

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.compare_checkpoints import (METRICS, Candidate, candidate_folders, fad_by_song, generate,
                                          oracle_outputs, summarize)


def _per_clip(shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for song in ("s1", "s2", "s3", "s4"):
        base = {m: float(rng.uniform(0.2, 0.6)) for m in METRICS[1:]}
        rows.append({"clip_id": song, "track": song, "system": "truth", **{m: 0.9 for m in METRICS[1:]}})
        rows.append({"clip_id": song, "track": song, "system": "old", **base})
        rows.append({"clip_id": song, "track": song, "system": "new", **base, "rhythm": base["rhythm"] + shift})
    return pd.DataFrame(rows)


def test_summary_reports_each_candidates_paired_difference_from_the_first():
    summary = summarize(_per_clip(0.1), {"truth": 0.0, "old": 20.0, "new": 18.0}, "old").set_index("system")
    assert summary.loc["new", "rhythm_diff"] == "+0.100 [+0.100, +0.100]"
    assert summary.loc["new", "harmony_diff"] == "+0.000 [+0.000, +0.000]"
    assert summary.loc["new", "fad"] == 18.0
    assert pd.isna(summary.loc["old", "rhythm_diff"])


def test_candidate_folders_name_folders_and_refuse_a_bare_path():
    assert candidate_folders(["shipped=shipped", "new=runs/x"]) == {"shipped": Candidate(None, 3),
                                                                      "new": Candidate("runs/x", 3)}
    with pytest.raises(SystemExit, match="NAME=FOLDER"):
        candidate_folders(["runs/x"])


def test_candidate_folders_may_not_take_the_names_of_the_tools_own_systems():
    with pytest.raises(SystemExit, match="NAME not one of"):
        candidate_folders(["shipped=shipped", "true_semantic=runs/x"])


def test_a_folder_suffixed_2_names_its_two_stage_ablation():
    assert candidate_folders(["a=shipped:2", "b=runs/x:2", "c=runs/y:3"]) == {
        "a": Candidate(None, 2), "b": Candidate("runs/x", 2), "c": Candidate("runs/y", 3)}


def _tiny_pipeline(stages: int = 3):
    from hafm.config import SamplingConfig
    from hafm.model.cascade import Cascade
    from hafm.pipeline import GenerationPipeline
    from hafm.testing import EnergySemantic, ToneCodec, tiny_cascade

    cascade = tiny_cascade()
    if stages == 2:
        cascade = Cascade(cascade.semantic, cascade.coarse, None)
    return GenerationPipeline(cascade, EnergySemantic(), ToneCodec(), SamplingConfig(), "w")


def test_a_two_stage_candidate_decodes_the_coarse_codes_its_three_stage_twin_draws(monkeypatch):
    from hafm.pipeline import GenerationPipeline, load_sampling

    monkeypatch.setattr(GenerationPipeline, "load", classmethod(lambda cls, folder, stages=3: _tiny_pipeline(stages)))
    t = np.arange(12_000) / 24_000
    vocals = [(0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (220, 330)]
    out = generate({"three": Candidate(None, 3), "two": Candidate(None, 2)}, vocals, seed=4, workers=1)
    # a candidate samples with its folder's settings (here the shipped ones)
    pipeline = _tiny_pipeline().with_sampling(load_sampling(None))
    both = pipeline.generate_both(torch.from_numpy(vocals[1])[None], 24_000, seed=5)
    np.testing.assert_allclose(out["two"][1], both[2][0].numpy(), atol=1e-5)
    np.testing.assert_allclose(out["three"][1], both[3][0].numpy(), atol=1e-5)
    assert not np.allclose(out["two"][1], out["three"][1])


def test_the_output_cache_reuses_stored_clips_and_generates_only_missing_ones(monkeypatch, tmp_path):
    from hafm.pipeline import GenerationPipeline

    monkeypatch.setattr(GenerationPipeline, "load", classmethod(lambda cls, folder, stages=3: _tiny_pipeline(stages)))
    t = np.arange(12_000) / 24_000
    vocals = [(0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (220, 330, 440)]
    candidates = {"three": Candidate(None, 3)}
    plain = generate(candidates, vocals, seed=2, workers=1)["three"]
    first = generate(candidates, vocals, seed=2, workers=1, cache=tmp_path)["three"]
    stored = sorted(tmp_path.rglob("*.wav"))
    stored[1].unlink()
    ones = np.ones(12_000, np.float32)  # what a regenerated clip is, from here on
    monkeypatch.setattr("hafm.sweep._generate", lambda job: (job[0], job[1], [ones] * len(job[1])))
    again = generate(candidates, vocals, seed=2, workers=1, cache=tmp_path)["three"]
    for a, b in zip(plain, first):
        np.testing.assert_array_equal(a, b)
    regenerated = [i for i in range(3) if not np.array_equal(again[i], first[i])]
    assert len(stored) == 3 and len(regenerated) == 1 and np.all(again[regenerated[0]] == 1.0)


def test_benchmark_style_clips_lie_where_the_vocal_sings_on_whole_seconds(tmp_path):
    from benchmark.compare_checkpoints import benchmark_starts
    from hafm.sweep import clip_song, validation_clips
    from hafm.testing.corpora import write_track

    t = np.arange(6 * 24_000) / 24_000
    vocal = np.where(t >= 3.0, t / 10, 0.0).astype(np.float32)  # silent for 3 s, then sample = time / 10
    for name in ("A - one", "B - two"):
        write_track(tmp_path, "train", name, {"vocals": vocal, "bass": 0.5 * vocal}, 24_000)
    names, vocals, accomps = validation_clips(str(tmp_path), 0, 1.0, 2, benchmark_starts())
    starts = [float(n.rsplit("@", 1)[1].rstrip("s")) for n in names]
    assert names and len(names) <= 2 and all(clip_song(n) in ("A - one", "B - two") for n in names)
    assert all(s in (3.0, 4.0, 5.0) for s in starts)
    assert [round(float(v[0]) * 10, 3) for v in vocals] == starts
    assert all(len(v) == 24_000 for v in vocals + accomps)


def test_oracles_give_every_clip_a_codec_oracle_and_a_true_semantic_rendering(monkeypatch):
    from hafm.config import SamplingConfig
    from hafm.pipeline import GenerationPipeline
    from hafm.testing import EnergySemantic, ToneCodec, tiny_cascade

    pipeline = GenerationPipeline(tiny_cascade(), EnergySemantic(), ToneCodec(), SamplingConfig(), "w")
    monkeypatch.setattr(GenerationPipeline, "load", classmethod(lambda cls, folder: pipeline))
    t = np.arange(12_000) / 24_000
    vocals = [(0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (220, 330, 440)]
    accomps = [(a * np.sin(2 * np.pi * 110 * t)).astype(np.float32) for a in (0.1, 0.3, 0.6)]
    out = oracle_outputs(None, vocals, accomps, seed=0, batch=2)
    assert sorted(out) == ["codec_oracle", "true_semantic"]
    assert [len(x) for x in out["true_semantic"] + out["codec_oracle"]] == [12_000] * 6
    assert not np.allclose(out["true_semantic"][0], out["true_semantic"][2])


def test_the_systems_figure_is_a_png(tmp_path):
    from benchmark.compare_checkpoints import plot_systems

    plot_systems(_per_clip(0.1), tmp_path / "systems.png")
    assert (tmp_path / "systems.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_are_written_with_their_config(tmp_path):
    from benchmark.compare_checkpoints import write_results

    per_clip = _per_clip(0.1)
    summary = summarize(per_clip, {"truth": 0.0, "old": 20.0, "new": 18.0}, "old")
    write_results(tmp_path / "cmp", per_clip, summary, {"seed": 3})
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == [
        "config.json", "per_clip.csv", "summary.csv", "summary.md", "systems.png"]
    assert pd.read_csv(tmp_path / "cmp" / "per_clip.csv").shape == per_clip.shape


def _frames_embed(wav) -> np.ndarray:
    return wav.numpy().reshape(-1, 4)  # a clip of 400 samples is 100 frames of 4 dimensions


def _clips(shift: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(400) + shift).astype(np.float32) for _ in range(8)]


def test_fad_by_song_pools_clip_frames_and_pairs_the_difference_by_song():
    from hafm.frechet import frechet_distance, gaussian_stats

    songs = ["s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4"]
    reference, old, new = _clips(0.0, 0), _clips(0.3, 1), _clips(1.0, 2)
    fads, diffs = fad_by_song(_frames_embed, songs, reference, {"old": old, "new": new}, "old", n_resamples=200)
    pooled = [np.concatenate([c.reshape(-1, 4) for c in clips]) for clips in (reference, new)]
    assert fads["new"] == pytest.approx(frechet_distance(*gaussian_stats(pooled[0]), *gaussian_stats(pooled[1])))
    assert set(diffs) == {"new"}
    diff, low, high = (float(x) for x in diffs["new"].replace("[", "").replace("]", "").replace(",", "").split())
    assert diff == pytest.approx(fads["new"] - fads["old"], abs=0.01) and 0 < low < diff < high


def test_summary_carries_the_paired_fad_difference_of_each_candidate():
    summary = summarize(_per_clip(0.1), {"old": 20.0, "new": 18.0}, "old",
                        fad_diffs={"new": "-2.00 [-3.00, -1.00]"}).set_index("system")
    assert summary.loc["new", "fad_diff"] == "-2.00 [-3.00, -1.00]" and summary.loc["old", "fad_diff"] == ""
