"""Generation end to end with tiny random stage LMs and fake tokenizers (no weights, no network)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
import torch

from hafm.cli import main as hafm_main
from hafm.config import SamplingConfig
from hafm.errors import MissingWeightsError
from hafm.generate import generate_accompaniment, generate_semantic, generate_tokens, mix_with_vocals, window_grid
from hafm.model.cascade import Cascade, load_cascade
from hafm.testing import EnergySemantic, ToneCodec, save_release, tiny_cascade, tiny_config, use_stand_in_tokenizers
from hafm.tokenizers.base import AcousticCodec, SemanticTokenizer

FAST = SamplingConfig(window_seconds=0.6, overlap_seconds=0.2)  # 30-frame windows, 10 shared


@pytest.fixture
def cascade() -> Cascade:
    return Cascade.from_config(tiny_config())


@pytest.fixture
def vocal_file(tmp_path):
    """3 s of a stereo 44.1 kHz sung-like tone (vibrato, syllable envelope)."""
    sr = 44_100
    t = np.arange(3 * sr) / sr
    f0 = 220 * 2 ** (np.floor(t * 2) % 5 / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    voice = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sr) * (0.5 + 0.5 * np.abs(np.sin(np.pi * 2 * t)))
    path = tmp_path / "vocals.wav"
    sf.write(path, np.stack([voice, 0.8 * voice], axis=1), sr)
    return path


def test_windows_cover_the_input_and_share_the_overlap():
    grid = window_grid(95, 30, 10)
    assert grid[0][0] == 0 and grid[-1][1] == 95
    for (s0, e0), (s1, e1) in zip(grid, grid[1:]):
        assert e0 - s1 == 10 and e1 > e0
    assert window_grid(12, 30, 10) == [(0, 12)]


def test_long_input_is_generated_in_windows_with_the_right_length(cascade):
    vocal = torch.randint(0, 500, (200,))  # 4 s at 50 Hz: longer than max_len allows in one pass
    codes = generate_tokens(cascade, vocal, sampling=FAST, generator=torch.Generator().manual_seed(0))
    assert codes.shape == (8, 300)
    assert int(codes.min()) >= 0 and int(codes.max()) < 1024


def test_two_stages_yield_the_coarse_codebooks_only(cascade):
    vocal = torch.randint(0, 500, (40,))
    full = generate_tokens(cascade, vocal, stages=3, sampling=FAST, generator=torch.Generator().manual_seed(1))
    coarse = generate_tokens(cascade, vocal, stages=2, sampling=FAST, generator=torch.Generator().manual_seed(1))
    assert coarse.shape == (4, 60)
    assert torch.equal(full[:4], coarse)


def test_one_window_longer_than_max_len_is_refused():
    cascade = Cascade.from_config(tiny_config(max_len=64))
    with pytest.raises(ValueError, match="max_len"):
        generate_tokens(cascade, torch.randint(0, 500, (60,)), sampling=SamplingConfig(window_seconds=10.0))


def test_accompaniment_has_the_vocal_duration_at_24khz_and_follows_the_seed(cascade):
    sr = 22_050
    vocals = 0.1 * torch.randn(2, sr)  # 1 s stereo
    runs = [generate_accompaniment(vocals, sr, sampling=FAST, seed=s, cascade=cascade, codec=ToneCodec(),
                                   semantic=EnergySemantic()) for s in (3, 3, 4)]
    assert runs[0].shape == (1, 24_000)
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_mix_never_clips():
    loud = torch.ones(1, 24_000) * 0.8
    mixed = mix_with_vocals(loud, 24_000, loud)
    assert float(mixed.abs().max()) <= 0.99 + 1e-6


def test_fakes_satisfy_the_tokenizer_protocols():
    assert isinstance(EnergySemantic(), SemanticTokenizer) and isinstance(ToneCodec(), AcousticCodec)


def test_missing_weights_name_the_files(tmp_path):
    with pytest.raises(MissingWeightsError, match="coarse.pt"):
        load_cascade(tmp_path)


@pytest.mark.slow
def test_cli_writes_accompaniment_and_mix(vocal_file, tmp_path, monkeypatch):
    use_stand_in_tokenizers(monkeypatch)
    save_release(tiny_cascade(max_len=1024), tmp_path)
    out, mix = tmp_path / "accomp.wav", tmp_path / "mix.wav"
    code = hafm_main(["generate", str(vocal_file), "-o", str(out), "--mix", str(mix), "--checkpoints",
                      str(tmp_path), "--seed", "5", "--top-k", "20", "--guidance-scale", "2.0"])
    assert code == 0
    for path in (out, mix):
        data, sr = sf.read(path)
        assert sr == 24_000 and data.shape == (72_000,)
    assert np.abs(sf.read(out)[0]).max() > 0


@pytest.mark.slow
@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3 encoder")
def test_cli_writes_ogg_accompaniment_and_mp3_mix(vocal_file, tmp_path, monkeypatch):
    use_stand_in_tokenizers(monkeypatch)
    save_release(tiny_cascade(max_len=1024), tmp_path)
    out, mix = tmp_path / "accomp.ogg", tmp_path / "mix.mp3"
    assert hafm_main(["generate", str(vocal_file), "-o", str(out), "--mix", str(mix),
                      "--checkpoints", str(tmp_path)]) == 0
    assert [sf.info(p).subtype for p in (out, mix)] == ["VORBIS", "MPEG_LAYER_III"]
    assert all(sf.info(p).samplerate == 24_000 and abs(sf.info(p).duration - 3.0) < 0.01 for p in (out, mix))


@pytest.mark.parametrize("flag", ["-o", "--mix"])
def test_cli_refuses_mp3_without_an_encoder_in_one_line_before_generating(vocal_file, tmp_path, capsys,
                                                                          monkeypatch, flag):
    formats = {k: v for k, v in sf.available_formats().items() if k != "MP3"}
    monkeypatch.setattr(sf, "available_formats", lambda: formats)
    paths = {"-o": str(tmp_path / "accomp.wav"), "--mix": str(tmp_path / "mix.wav")} | {flag: str(tmp_path / "x.mp3")}
    argv = ["generate", str(vocal_file), "-o", paths["-o"], "--mix", paths["--mix"],
            "--checkpoints", str(tmp_path / "no_weights")]
    assert hafm_main(argv) == 2
    err = capsys.readouterr().err
    assert "extension '.mp3'" in err and len(err.strip().splitlines()) == 1  # not the missing weights
    assert list(tmp_path.iterdir()) == [vocal_file]


def test_a_vocal_shorter_than_one_frame_still_gets_its_length(cascade):
    sr = 48_000
    vocals = 0.1 * torch.randn(1, 240)  # 5 ms
    out = generate_accompaniment(vocals, sr, sampling=FAST, cascade=cascade, codec=ToneCodec(),
                                 semantic=EnergySemantic())
    assert out.shape == (1, 120)


def test_silent_or_broken_vocals_are_refused(cascade):
    from hafm.errors import AudioError

    for bad in (torch.zeros(1, 16_000), torch.full((1, 16_000), float("nan"))):
        with pytest.raises(AudioError):
            generate_accompaniment(bad, 16_000, cascade=cascade, codec=ToneCodec(), semantic=EnergySemantic())


@pytest.mark.parametrize("flag, bad, problem", [("-o", "", "is a directory"), ("--mix", "mix.mp4", "extension '.mp4'")])
def test_cli_refuses_an_unwritable_output_before_generating(vocal_file, tmp_path, capsys, flag, bad, problem):
    out = {"-o": str(tmp_path / "accomp.wav"), "--mix": None}
    out[flag] = str(tmp_path / bad)
    argv = ["generate", str(vocal_file), "-o", out["-o"], "--checkpoints", str(tmp_path / "no_weights")]
    if out["--mix"]:
        argv += ["--mix", out["--mix"]]
    assert hafm_main(argv) == 2
    assert problem in capsys.readouterr().err  # not the missing weights: checked before anything loads


def test_cli_refuses_a_vocal_over_max_minutes_naming_the_flag(vocal_file, tmp_path, capsys):
    out = tmp_path / "accomp.wav"
    argv = ["generate", str(vocal_file), "-o", str(out), "--checkpoints", str(tmp_path / "no_weights"),
            "--max-minutes", "0.01"]  # 0.6 s < the 3 s vocal
    assert hafm_main(argv) == 2
    err = capsys.readouterr().err
    assert "exceeds --max-minutes 0.01" in err and "--max-minutes 0 for no limit" in err
    assert "max_seconds=None" not in err and not out.exists()


@pytest.mark.parametrize("minutes, seconds", [("0", None), ("0.5", 30.0), (None, 1200.0)])
def test_max_minutes_maps_to_the_audio_limit(minutes, seconds):
    from hafm.cli import build_parser
    from hafm.commands.generate import max_seconds_from_args

    argv = ["generate", "v.wav", "-o", "a.wav"] + (["--max-minutes", minutes] if minutes else [])
    assert max_seconds_from_args(build_parser().parse_args(argv)) == seconds


def test_default_max_minutes_is_the_audio_default():
    from hafm import audio
    from hafm.commands.generate import DEFAULT_MAX_MINUTES

    assert DEFAULT_MAX_MINUTES * 60 == audio.DEFAULT_MAX_SECONDS


@pytest.mark.parametrize("bad", ["-1", "nan", "inf"])
def test_cli_rejects_a_negative_or_non_finite_max_minutes(bad, capsys):
    with pytest.raises(SystemExit):
        hafm_main(["generate", "v.wav", "-o", "a.wav", "--max-minutes", bad])
    assert "--max-minutes" in capsys.readouterr().err


def test_generation_honours_max_seconds(cascade):
    from hafm.errors import AudioTooLongError

    vocals = 0.1 * torch.randn(1, 16_000)  # 1 s
    kwargs = dict(sampling=FAST, cascade=cascade, codec=ToneCodec(), semantic=EnergySemantic())
    with pytest.raises(AudioTooLongError, match="exceeds the limit"):
        generate_accompaniment(vocals, 16_000, max_seconds=0.5, **kwargs)
    assert generate_accompaniment(vocals, 16_000, max_seconds=None, **kwargs).shape == (1, 24_000)


def test_guidance_scale_flag_overrides_every_stage_and_the_old_flag_is_a_hidden_alias(capsys):
    from hafm.cli import build_parser
    from hafm.commands.generate import sampling_from_args

    parser = build_parser()
    new = sampling_from_args(parser.parse_args(["generate", "v.wav", "-o", "o.wav", "--guidance-scale", "2.0"]))
    assert new.guidance_scale == 2.0
    assert all("guidance_scale" not in values for values in new.stage_overrides.values())
    with pytest.warns(DeprecationWarning, match="--cfg-scale is deprecated; use --guidance-scale"):
        old = parser.parse_args(["generate", "v.wav", "-o", "o.wav", "--cfg-scale", "2.0"])
    assert "use --guidance-scale" in capsys.readouterr().err
    assert sampling_from_args(old) == new
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--help"])
    help_text = capsys.readouterr().out
    assert "--guidance-scale" in help_text and "--cfg-scale" not in help_text


def _onset_cascade() -> Cascade:
    cfg = tiny_config()
    return Cascade.from_config(dataclasses.replace(
        cfg, semantic=dataclasses.replace(cfg.semantic, vocal_onsets=True),
        coarse=dataclasses.replace(cfg.coarse, vocal_onsets=True)))


def test_stages_reading_onsets_follow_them():
    cascade, vocal = _onset_cascade(), torch.randint(0, 500, (1, 20))
    quiet, busy = torch.zeros(1, 20, dtype=torch.long), (torch.arange(20) % 5 == 0).long()[None]

    def codes(onsets):
        return generate_tokens(cascade, vocal, vocal_onsets=onsets, generator=torch.Generator().manual_seed(0))

    assert codes(quiet).shape == (1, 8, 30)
    assert torch.equal(codes(quiet), codes(quiet)) and not torch.equal(codes(quiet), codes(busy))


def test_stages_reading_onsets_refuse_to_run_without_them():
    with pytest.raises(ValueError, match="reads the vocal's onset stream"):
        generate_tokens(_onset_cascade(), torch.randint(0, 500, (20,)))


def test_onset_hold_changes_semantic_tokens_only_at_the_vocal_onsets(cascade):
    onsets = torch.zeros(1, 40, dtype=torch.long)
    onsets[0, [10, 25]] = 1
    sampling = SamplingConfig(temperature=1.0, stage_overrides={"semantic": {"onset_hold": 100.0}})
    tokens = generate_semantic(cascade, torch.randint(0, 500, (1, 40)), sampling,
                               torch.Generator().manual_seed(0), vocal_onsets=onsets)
    changes = torch.nonzero(tokens[0, 1:] != tokens[0, :-1]).flatten() + 1
    assert set(changes.tolist()) <= {9, 10, 11, 24, 25, 26}
    assert {10, 25} <= set(changes.tolist())


def test_onset_hold_without_onsets_is_refused(cascade):
    sampling = SamplingConfig(stage_overrides={"semantic": {"onset_hold": 2.0}})
    with pytest.raises(ValueError, match="needs the vocal's onsets"):
        generate_tokens(cascade, torch.randint(0, 500, (20,)), sampling=sampling)


def test_onset_hold_flag_sets_the_semantic_stage_only():
    from hafm.cli import build_parser
    from hafm.commands.generate import sampling_from_args

    args = build_parser().parse_args(["generate", "v.wav", "-o", "o.wav", "--onset-hold", "3"])
    effective = sampling_from_args(args).effective()
    assert effective["semantic"]["onset_hold"] == 3.0
    assert effective["coarse"]["onset_hold"] == 0.0 and effective["fine"]["onset_hold"] == 0.0
