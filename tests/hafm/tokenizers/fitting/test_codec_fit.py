import json

import pytest
import torch

from hafm.tokenizers import mdct
from hafm.tokenizers.fitting import codec as codec_fit
from hafm.tokenizers.fitting import rvq as rvq_fit
from hafm.tokenizers.codec import load_codec
from hafm.tokenizers.fitting.codec import CodecFitConfig, fit_codebooks, fit_from_musdb


def test_fit_from_musdb_writes_codebooks_and_provenance(musdb_tree, small_fit_config, tmp_path):
    out = tmp_path / "cb.safetensors"
    fit_from_musdb(musdb_tree, out, small_fit_config, progress=False)
    info = json.loads(out.with_suffix(".json").read_text())
    # 3 training tracks, one held out by the validation split
    assert info["train_tracks"] == 2 and info["fit_config"]["codebook_size"] == 16
    assert info["codec"] == "logmag-rvq"
    assert len(info["fit_frames_sha256"]) == 64
    assert load_codec(out).encode(torch.randn(1, 1, 1000) * 0.1).shape == (1, 8, 4)


def test_fit_leaves_no_partial_checkpoint(musdb_tree, small_fit_config, tmp_path):
    out = tmp_path / "out" / "cb.safetensors"
    fit_from_musdb(musdb_tree, out, small_fit_config, progress=False)
    assert sorted(p.name for p in out.parent.iterdir()) == ["cb.json", "cb.safetensors"]


def test_killed_fit_resumes_at_the_next_stage_with_the_same_result(
    codec_audio, small_fit_config, tmp_path, monkeypatch
):
    frames = mdct.mdct(codec_audio[:, 0]).reshape(-1, mdct.HOP)
    expected, _ = fit_codebooks(frames, small_fit_config)
    calls = []
    real_fit_stage = rvq_fit.fit_stage

    def dies_at_stage_4(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_fit_stage(*args, **kwargs)

    monkeypatch.setattr(rvq_fit, "fit_stage", dies_at_stage_4)
    checkpoint = tmp_path / "fit.partial.pt"
    with pytest.raises(KeyboardInterrupt):
        fit_codebooks(frames, small_fit_config, checkpoint)
    calls.clear()
    monkeypatch.setattr(rvq_fit, "fit_stage", lambda *a, **k: (calls.append(1), real_fit_stage(*a, **k))[1])
    resumed, _ = fit_codebooks(frames, small_fit_config, checkpoint)
    assert len(calls) == 5 and torch.equal(resumed, expected)


def test_checkpoint_from_other_data_is_not_reused(codec_audio, small_fit_config, tmp_path):
    frames = mdct.mdct(codec_audio[:, 0]).reshape(-1, mdct.HOP)
    checkpoint = tmp_path / "fit.partial.pt"
    fit_codebooks(frames * 2.0, small_fit_config, checkpoint)
    fresh, _ = fit_codebooks(frames, small_fit_config)
    reused, _ = fit_codebooks(frames, small_fit_config, checkpoint)
    assert torch.equal(fresh, reused)


def test_silent_frames_are_not_fitted(small_fit_config):
    import dataclasses

    wav = torch.cat([torch.zeros(3200), 0.1 * torch.randn(3200)])
    config = dataclasses.replace(small_fit_config, transform="mdct")
    frames = codec_fit.sample_frames([("vocals", wav)], {"vocals": 1.0}, config)
    assert 10 <= len(frames) <= 11  # the first frame wraps around onto the loud end


def test_silent_logmag_frames_are_not_fitted(small_fit_config):
    wav = torch.cat([torch.zeros(6400), 0.1 * torch.randn(6400)])
    frames = codec_fit.sample_frames([("vocals", wav)], {"vocals": 1.0}, small_fit_config)
    # 20 frames of noise; the STFT window (1280) reaches 2 frames into the silence
    assert 20 <= len(frames) <= 22 and frames.shape[1] == 641


def test_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="transform"):
        CodecFitConfig(transform="wavelet").make_transform()


def test_keep_probabilities_follow_the_accompaniment_share():
    config = CodecFitConfig(max_frames=1000, accompaniment_share=0.75)
    keep = codec_fit.keep_probabilities(4000, config)
    assert keep == {"vocals": pytest.approx(0.125), "accompaniment": pytest.approx(0.375)}


def test_config_loads_from_toml_and_refuses_unknown_keys(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("max_frames = 1234\nseed = 7\n")
    bad.write_text("maxframes = 1\n")
    assert CodecFitConfig.from_toml(good) == CodecFitConfig(max_frames=1234, seed=7)
    with pytest.raises(ValueError, match="maxframes"):
        CodecFitConfig.from_toml(bad)


def test_fit_command_applies_toml_then_flags(musdb_tree, tmp_path):
    from hafm.cli import main

    config = tmp_path / "fit.toml"
    config.write_text("codebook_size = 16\ninit_frames = 300\nkmeans_iters = 5\n")
    out = tmp_path / "out" / "cb.safetensors"
    argv = ["codec", "fit", "--root", str(musdb_tree), "--out", str(out), "--config", str(config), "--iterations", "2"]
    assert main(argv) == 0
    fit_config = json.loads(out.with_suffix(".json").read_text())["fit_config"]
    assert (fit_config["codebook_size"], fit_config["kmeans_iters"], fit_config["max_frames"]) == (16, 2, 150_000)


@pytest.mark.slow
def test_fit_command_reads_a_stem_mp4_tree(stems_tree, tmp_path):
    from hafm.cli import main

    config = tmp_path / "fit.toml"
    config.write_text('codebook_size = 16\ninit_frames = 300\nkmeans_iters = 2\npart = "all"\n')
    out = tmp_path / "cb.safetensors"
    assert main(["codec", "fit", "--root", str(stems_tree), "--out", str(out), "--config", str(config)]) == 0
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["train_tracks"] == 1 and info["fit_frames"] > 0
