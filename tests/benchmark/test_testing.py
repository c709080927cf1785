"""The benchmark's test kit: the contract checks accept the shipped systems and the examples, and
each example joins the command line by its one registry line."""

import json

import numpy as np
import pytest
import soundfile as sf

from benchmark import embeddings, registry
from benchmark.cli import main
from benchmark.systems import CodecOracle, GroundTruth, RandomBaseline
from benchmark.testing import VOCALS_ECHO, SpectralBackend, VocalsEcho, check_embedding_backend, check_system
from hafm.testing import ToneCodec, melody


def test_example_backend_keeps_the_contract():
    check_embedding_backend(SpectralBackend())


@pytest.mark.slow
def test_musicnn_backend_keeps_the_contract():
    import torch

    from hafm.musicnn import Musicnn

    torch.manual_seed(0)
    check_embedding_backend(embeddings.MusicnnBackend(model=Musicnn().eval()))


def test_a_backend_that_drops_silence_is_caught():
    class NanOnSilence(SpectralBackend):
        def embed(self, wav, sr):
            frames = super().embed(wav, sr)
            return frames if np.abs(wav).max() > 0 else frames * np.nan

    with pytest.raises(AssertionError):
        check_embedding_backend(NanOnSilence())


@pytest.mark.parametrize("system", [
    GroundTruth(), VocalsEcho(), CodecOracle(ToneCodec(), 4, "codec_oracle_4"),
    RandomBaseline({"a": np.zeros(48_000, np.float32), "b": np.ones(12_000, np.float32)}, seed=0),
], ids=lambda s: s.name)
def test_systems_keep_the_contract(system):
    check_system(system)


def _folder(path, pitches):
    path.mkdir()
    for k, pitch in enumerate(pitches):
        sf.write(path / f"{k}.wav", melody([pitch, pitch + 4], 0.25, 24_000, 2.0), 24_000)
    return path


def test_a_backend_added_to_BACKENDS_scores_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(embeddings.BACKENDS, "spectral", SpectralBackend)  # the one line a backend adds
    ref, other = _folder(tmp_path / "ref", [60, 62, 64, 65]), _folder(tmp_path / "eval", [70, 72, 74])
    assert main(["fad", str(ref), str(other), "--backend", "spectral", "--bootstrap", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "spectral" and result["fad"]["value"] > 0


@pytest.mark.slow
def test_a_system_added_to_SYSTEMS_is_run_scored_and_tabled(tiny_musdb, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "SYSTEMS", (*registry.SYSTEMS, VOCALS_ECHO))  # the one line a system adds
    monkeypatch.setitem(embeddings.BACKENDS, "spectral", SpectralBackend)
    (tmp_path / "bench.toml").write_text("clip_seconds = 4.0\nclips_per_song = 1\nreference_clips_per_song = 1\n"
                                         "bootstrap = 20\nworkers = 1\n")
    out = tmp_path / "results"
    assert main(["run", "--root", str(tiny_musdb), "--out", str(out), "--config", str(tmp_path / "bench.toml"),
                 "--systems", "ground_truth", "vocals_echo", "random", "--backends", "spectral"]) == 0
    stats = json.loads((out / "stats" / "fad_stats.json").read_text())
    assert ("vocals_echo", "random") in {(p["a"], p["b"]) for p in stats["paired"]}
    assert "| vocals_echo |" in (out / "fad.md").read_text()
    assert "Vocals as accompaniment" in (out / "fad.tex").read_text()
