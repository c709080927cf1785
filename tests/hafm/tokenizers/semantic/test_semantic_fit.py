"""Fitting on a MUSDB-layout corpus (resume, CLI, HuBERT) and the token-quality report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hafm.cli import main
from hafm.errors import HafmError
from hafm.tokenizers.features import FeatureConfig
from hafm.tokenizers.semantic import SemanticConfig, load_semantic
from hafm.data import musdb_io
from hafm.data.musdb_io import tracks_of
from hafm.tokenizers.fitting.semantic import fit_on_corpus
from hafm.tokenizers.reports.semantic import frame_labels, usage, write_report

SMALL = dict(n_clusters=8, max_frames=600, frames_per_file=100)


def test_fit_records_data_and_config(tiny_corpus, tmp_path):
    cfg = SemanticConfig(features=FeatureConfig(kind="mfcc"), **SMALL)
    tok = fit_on_corpus(tiny_corpus, cfg, cache_dir=tmp_path / "cache", progress=False)
    assert tok.header["fit"]["n_frames"] == 600
    assert tok.header["data"]["n_tracks"] == 3 and len(tok.header["data"]["sources_sha256"]) == 64
    assert {s["stem"] for s in tok.header["sources"]} == {"vocals", "accompaniment"}


def test_fit_resumes_from_cached_frames(tiny_corpus, tmp_path, monkeypatch):
    cfg = SemanticConfig(features=FeatureConfig(kind="mfcc"), **SMALL)
    first = fit_on_corpus(tiny_corpus, cfg, cache_dir=tmp_path / "cache", progress=False)

    def no_audio(*args, **kwargs):
        raise AssertionError("audio was decoded again although every source is cached")

    monkeypatch.setattr(musdb_io, "read_stem", no_audio)
    again = fit_on_corpus(tiny_corpus, cfg, cache_dir=tmp_path / "cache", progress=False)
    torch.testing.assert_close(again.centroids, first.centroids)


def test_accompaniment_is_the_sum_of_the_other_stems(tiny_corpus):
    import soundfile as sf

    track = tracks_of(tiny_corpus, "train")[0]
    total = sum(sf.read(track.sources[s].path, dtype="float32")[0] for s in ("bass", "drums", "other"))
    ours = musdb_io.read_stem(track, "accompaniment", 16_000)
    assert ours.shape[0] == total.shape[0] * 2 // 3
    assert abs(float(np.sqrt((ours ** 2).mean())) - float(np.sqrt((total ** 2).mean()))) < 0.01


def test_empty_split_raises(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(HafmError, match="no tracks"):
        tracks_of(tmp_path, "train")


@pytest.mark.slow
def test_cli_fit_writes_a_loadable_musicnn_tokenizer(tiny_corpus, tmp_path, wav_16k):
    out = tmp_path / "semantic.safetensors"
    rc = main(["semantic", "fit", "--root", str(tiny_corpus), "--out", str(out), "--n-clusters", "8",
               "--max-frames", "400", "--cache", str(tmp_path / "cache")])
    tok = load_semantic(str(out))
    assert rc == 0 and tok.features_config.kind == "musicnn" and tok.centroids.shape == (8, 753)
    assert tok.encode(torch.from_numpy(wav_16k)[None, None]).shape == (1, 116)


@pytest.mark.slow
def test_hubert_tokenizer_fits_and_loads_from_its_file(tiny_corpus, tiny_hubert_dir, tmp_path, wav_16k):
    cfg = SemanticConfig(features=FeatureConfig(kind="hubert", hubert_dir=str(tiny_hubert_dir), hubert_layer=3),
                         **SMALL)
    path = tmp_path / "hubert.safetensors"
    fit_on_corpus(tiny_corpus, cfg, progress=False).save(path)
    tok = load_semantic(str(path))
    assert type(tok.extractor).__name__ == "HubertFeatures"
    assert tok.encode(torch.from_numpy(wav_16k)[None, None]).shape == (1, 116)


def test_frame_labels_read_the_sounding_notes():
    notes = [{"part": "soprano", "onset_s": 0.0, "offset_s": 0.05, "pitch": 72},
             {"part": "bass", "onset_s": 0.02, "offset_s": 0.1, "pitch": 43},
             {"part": "alto", "onset_s": 0.0, "offset_s": 0.1, "pitch": 64}]
    labels = frame_labels(notes, 5)  # frame centres 10, 30, 50, 70, 90 ms
    assert labels["melody_pc"] == [0, 0, None, None, None]
    assert labels["bass_pc"] == [None, 7, 7, 7, 7]
    assert labels["chord_pcs"] == [(4,), (4, 7), (4, 7), (4, 7), (4, 7)]


def test_usage_counts_clusters_and_perplexity():
    result = usage(np.array([0, 1, 0, 1]), n_clusters=4)
    assert result["used_fraction"] == 0.5
    assert result["perplexity"] == pytest.approx(2.0)


@pytest.mark.slow
def test_report_compares_tokenizers(tiny_corpus, tmp_path):
    paths = []
    for kind in ("mfcc", "musicnn"):
        cfg = SemanticConfig(features=FeatureConfig(kind=kind), **SMALL)
        paths.append(str(tmp_path / f"{kind}.safetensors"))
        fit_on_corpus(tiny_corpus, cfg, progress=False).save(paths[-1])
    out = tmp_path / "semantic.md"
    write_report(tiny_corpus, paths, n_tracks=2, out=out)
    text = out.read_text()
    assert "melody_pc" in text and "Throughput" in text and paths[1] in text
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["results"][paths[0]]["information"]["melody_pc"]["frames"] > 0


@pytest.mark.slow
def test_fit_command_reads_a_stem_mp4_tree(stems_tree, tmp_path):
    out = tmp_path / "mfcc.safetensors"
    assert main(["semantic", "fit", "--root", str(stems_tree), "--out", str(out), "--features", "mfcc",
                 "--n-clusters", "4", "--max-frames", "150", "--cache", str(tmp_path / "cache")]) == 0
    header = load_semantic(str(out)).header
    assert header["data"]["n_tracks"] == 1
    assert {s["stem"] for s in header["sources"]} == {"vocals", "accompaniment"}
    assert header["sources"][0]["sha256"] != header["sources"][1]["sha256"]


@pytest.mark.slow
def test_report_command_on_a_stem_mp4_tree_measures_usage_without_notes(stems_tree, tmp_path):
    out = tmp_path / "semantic.md"
    assert main(["semantic", "report", "--root", str(stems_tree), "--tokenizers", "mfcc", "--tracks", "1",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "| mfcc | vocals |" in text and "Not measured: the tracks have no `notes.json`" in text
    assert json.loads(out.with_suffix(".json").read_text())["results"]["mfcc"]["information"] == {}


def test_report_refuses_a_corpus_where_only_some_tracks_have_notes(tiny_corpus, tmp_path):
    import shutil

    mixed = shutil.copytree(tiny_corpus, tmp_path / "mixed")
    (mixed / "test" / "test_01" / "notes.json").unlink()
    with pytest.raises(HafmError, match=r"\['test_01'\] have no notes.json"):
        write_report(mixed, ["mfcc"], n_tracks=2, out=tmp_path / "semantic.md")
