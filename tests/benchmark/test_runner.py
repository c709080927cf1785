import json

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.clips import load_manifest
from benchmark.config import BenchmarkConfig
from benchmark.runner import run
from benchmark.tables import write_tables
from benchmark.testing import SpectralBackend
from hafm.testing import ToneCodec


class FakePipeline:
    """Noise at a level set by the number of stages; ``calls`` counts generations."""

    def __init__(self, name="w1", calls=None):
        self.name, self.calls = name, calls

    def identity(self):
        return self.name

    def generate(self, vocals, sr, stages, seed):
        if self.calls is not None:
            self.calls.append(1)
        g = torch.Generator().manual_seed(seed)
        return 0.05 * stages * torch.randn(1, vocals.shape[-1], generator=g)


@pytest.fixture
def cfg():
    return BenchmarkConfig(clip_seconds=4.0, clips_per_song=2, min_vocal_active=0.5, reference_clips_per_song=2,
                           bootstrap=30, backends=("spectral",))


def _run(cfg, root, out, calls=None, model="w1"):
    return run(cfg, root, out, embedders={"spectral": SpectralBackend().embed}, codec=ToneCodec,
               pipeline=FakePipeline(model, calls), model_id=model, data_name="tiny")


@pytest.mark.slow
def test_end_to_end_run_writes_stats_for_every_system(tiny_musdb, tmp_path, cfg):
    stats = _run(cfg, tiny_musdb, tmp_path)
    systems = {r["system"] for r in stats["fad"]}
    assert systems == set(cfg.systems)
    assert {r["target"] for r in stats["fad"]} == {"accompaniment", "mix"}
    assert all(r["n_clips"] == stats["meta"]["n_clips"] == 8 for r in stats["fad"])
    gt = next(r for r in stats["fad"] if r["system"] == "ground_truth" and r["target"] == "accompaniment")
    rnd = next(r for r in stats["fad"] if r["system"] == "random" and r["target"] == "accompaniment")
    assert gt["fad"] < next(r for r in stats["fad"] if r["system"] == "three_stage"
                            and r["target"] == "accompaniment")["fad"]
    assert np.isfinite(rnd["fad"])
    write_tables(tmp_path)
    per_clip = pd.read_csv(tmp_path / "proxies.csv")
    means = per_clip.groupby("system").harmony.mean()
    assert means["ground_truth"] > means["random"]


@pytest.mark.slow
def test_second_run_reuses_cached_outputs_and_clips(tiny_musdb, tmp_path, cfg):
    _run(cfg, tiny_musdb, tmp_path)
    clips_before = json.loads((tmp_path / "_cache" / "clips.json").read_text())
    calls = []
    cfg2 = BenchmarkConfig(**{**cfg.to_dict(), "systems": ("three_stage",)})
    _run(cfg2, tiny_musdb, tmp_path, calls)
    assert json.loads((tmp_path / "_cache" / "clips.json").read_text()) == clips_before
    assert calls == []


@pytest.mark.slow
def test_cached_run_exports_a_listening_test_source(tiny_musdb, tmp_path, cfg):
    from benchmark.listening_source import export_listening_source

    _run(cfg, tiny_musdb, tmp_path)
    items = export_listening_source(tmp_path, tiny_musdb, tmp_path / "src", max_items=3)
    assert len(items) == 3
    for system in [*cfg.systems, "vocals"]:
        assert sorted(p.stem for p in (tmp_path / "src" / system).glob("*.wav")) == sorted(items)


@pytest.mark.slow
def test_unchanged_second_run_returns_the_stored_statistics_without_work(tiny_musdb, tmp_path, cfg):
    first = _run(cfg, tiny_musdb, tmp_path)
    calls = []
    second = _run(cfg, tiny_musdb, tmp_path, calls)
    assert second["meta"].pop("reused") is True
    assert second == first and calls == []


@pytest.mark.slow
def test_changed_pipeline_invalidates_the_stored_statistics(tiny_musdb, tmp_path, cfg):
    _run(cfg, tiny_musdb, tmp_path)
    calls = []
    _run(cfg, tiny_musdb, tmp_path, calls, model="w2")
    assert calls  # other weights or sampling settings: the model systems were generated again


@pytest.fixture
def outside_dir(tiny_musdb, tmp_path, cfg):
    """An outside system's folder: the true accompaniment of every exported clip, low-passed at
    4 kHz and written as 44.1 kHz stereo (the ``clips export`` -> model -> folder round trip)."""
    import soundfile as sf
    from scipy.signal import butter, sosfilt

    from benchmark.outside import export_clips
    from benchmark.runner import cut, load_split
    from hafm.audio import resample

    entries = export_clips(cfg, tiny_musdb, tmp_path, tmp_path / "clips")
    test, sos = load_split(tiny_musdb, "test"), butter(4, 4000, fs=24_000, output="sos")
    folder = tmp_path / "mine"
    folder.mkdir()
    clips, _ = load_manifest(tmp_path / "_cache" / "clips.json")
    for clip in clips:
        low = resample(sosfilt(sos, cut(test[clip.track], clip).accompaniment), 24_000, 44_100)
        sf.write(folder / f"{clip.clip_id}.wav", np.stack([low, low], 1), 44_100, subtype="FLOAT")
    assert len(clips) == len(entries)
    return folder


@pytest.mark.slow
def test_outside_folder_is_scored_beside_the_shipped_systems(tiny_musdb, tmp_path, cfg, outside_dir):
    cfg = BenchmarkConfig(**{**cfg.to_dict(), "systems": ("ground_truth", "three_stage", "random")})
    stats = run(cfg, tiny_musdb, tmp_path, embedders={"spectral": SpectralBackend().embed}, codec=ToneCodec,
                pipeline=FakePipeline(), model_id="w1", data_name="tiny", outside={"mine": outside_dir})
    fad = {r["system"]: r["fad"] for r in stats["fad"] if r["target"] == "accompaniment"}
    assert fad["mine"] < fad["three_stage"]
    assert {(p["a"], p["b"]) for p in stats["paired"]} >= {("mine", "three_stage"), ("mine", "random")}
    write_tables(tmp_path)
    assert "| mine |" in (tmp_path / "fad.md").read_text() and "mine" in (tmp_path / "fad.tex").read_text()
    assert "mine" in set(pd.read_csv(tmp_path / "proxies.csv").system)
