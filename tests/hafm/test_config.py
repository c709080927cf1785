import numpy as np
import pytest
import soundfile as sf

from hafm import config
from hafm.cli import main as hafm_main
from hafm.errors import HafmError


def test_toml_round_trip_preserves_every_field(tmp_path):
    cfg = config.paper()
    path = tmp_path / "c.toml"
    path.write_text(config.to_toml(cfg))
    assert config.load_config(str(path)) == cfg


def test_file_overrides_apply_on_top_of_a_preset(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('preset = "small"\n[coarse]\nd_model = 128\n[sampling]\ncfg_scale = 1.5\n')
    cfg = config.load_config(str(path))
    assert cfg.coarse.d_model == 128 and cfg.sampling.cfg_scale == 1.5
    assert cfg.semantic.d_model == config.small().semantic.d_model


def test_unknown_key_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlearning_rate = 1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        config.load_config(str(path))


def test_stage_shapes_follow_the_paper():
    cfg = config.small()
    assert (cfg.semantic.prefix_streams, cfg.semantic.target_codebooks) == (1, 1)
    assert (cfg.coarse.prefix_streams, cfg.coarse.target_codebooks, cfg.coarse.target_vocab) == (2, 4, 1024)
    assert (cfg.fine.prefix_streams, cfg.fine.target_codebooks) == (4, 4)


def test_sampling_defaults_are_the_authors():
    s = config.SamplingConfig()
    assert (s.temperature, s.top_k, s.cfg_scale, s.vocal_noise_std) == (0.9, 250, 3.0, 0.01)


def test_unknown_preset_or_missing_file_is_refused():
    with pytest.raises(FileNotFoundError, match="preset"):
        config.load_config("huge")


@pytest.mark.parametrize("text, problem", [
    ("[sampling]\ntemperature = ", "not a valid TOML config"),
    ("[sampling]\ntemprature = 0.5\n", "unknown config key sampling.'temprature'"),
    ('preset = "huge"\n', "preset 'huge' is not one of"),
])
def test_bad_config_file_is_a_clear_hafm_error(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(HafmError, match=problem):
        config.load_config(str(path))


def test_cli_reports_a_missing_config_without_traceback(tmp_path, capsys):
    vocal = tmp_path / "v.wav"
    sf.write(vocal, 0.1 * np.sin(np.arange(8_000) / 5.0), 8_000)
    code = hafm_main(["generate", str(vocal), "-o", str(tmp_path / "o.wav"), "--config", "huge"])
    assert code == 2 and "'huge' is neither a preset" in capsys.readouterr().err


def test_read_toml_names_a_missing_file(tmp_path):
    with pytest.raises(HafmError, match="missing.toml' not found"):
        config.read_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize("command", [["codec", "fit"], ["semantic", "fit"]])
def test_tokenizer_fit_commands_report_a_malformed_config_without_traceback(tmp_path, capsys, command):
    bad = tmp_path / "bad.toml"
    bad.write_text("max_frames 12\n")
    out = str(tmp_path / "t.safetensors")
    code = hafm_main([*command, "--root", str(tmp_path), "--config", str(bad), "--out", out])
    assert code == 2 and "bad.toml: not a valid TOML config" in capsys.readouterr().err


def test_codec_shape_sets_the_coarse_and_fine_stages():
    from hafm.config import small, with_codec_shape

    cfg = with_codec_shape(small(), n_codebooks=12, n_coarse=3, codebook_size=2048)
    assert (cfg.coarse.target_codebooks, cfg.coarse.target_vocab) == (3, 2048)
    assert (cfg.fine.prefix_streams, cfg.fine.target_codebooks, cfg.fine.prefix_vocab) == (3, 9, 2048)
    assert with_codec_shape(small(), 8, 4, 1024) == small()


def test_per_stage_sampling_override_applies_to_that_stage_only():
    from hafm.config import SamplingConfig

    sampling = SamplingConfig(stage_overrides={"fine": {"temperature": 0.0}, "coarse": {"cfg_scale": 2.0}})
    assert sampling.for_stage("fine").temperature == 0.0 and sampling.for_stage("semantic").temperature == 0.9
    assert sampling.effective()["coarse"]["cfg_scale"] == 2.0 and sampling.effective()["fine"]["cfg_scale"] == 1.0


def test_unknown_per_stage_sampling_key_is_refused():
    from hafm.config import SamplingConfig
    from hafm.errors import ConfigError

    with pytest.raises(ConfigError, match="tempertaure"):
        SamplingConfig(stage_overrides={"fine": {"tempertaure": 0.0}}).for_stage("fine")
