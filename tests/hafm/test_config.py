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
    path.write_text('preset = "small"\n[coarse]\nd_model = 128\n[sampling]\nguidance_scale = 1.5\n')
    cfg = config.load_config(str(path))
    assert cfg.coarse.d_model == 128 and cfg.sampling.guidance_scale == 1.5
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


def test_sampling_defaults_are_the_authors_but_without_vocal_noise():
    s = config.SamplingConfig()
    assert (s.temperature, s.top_k, s.guidance_scale, s.vocal_noise_std) == (0.9, 250, 3.0, 0.0)


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

    sampling = SamplingConfig(stage_overrides={"fine": {"temperature": 0.0}, "coarse": {"guidance_scale": 2.0}})
    assert sampling.for_stage("fine").temperature == 0.0 and sampling.for_stage("semantic").temperature == 0.9
    effective = sampling.effective()
    assert effective["coarse"]["guidance_scale"] == 2.0 and effective["fine"]["guidance_scale"] == 1.0


def test_unknown_per_stage_sampling_key_is_refused():
    from hafm.config import SamplingConfig
    from hafm.errors import ConfigError

    with pytest.raises(ConfigError, match="tempertaure"):
        SamplingConfig(stage_overrides={"fine": {"tempertaure": 0.0}}).for_stage("fine")


# --- guidance settings were called cfg_scale / cfg_stages: old files load to the same config --------

OLD_SHIPPED_SAMPLING_TOML = """\
# Chosen by `hafm sweep-sampling` on the validation split; see results/sampling_sweep.md
[sampling]
temperature = 0.9
top_k = 250
top_p = 0.0
cfg_scale = 3.0
cfg_stages = ["semantic", "coarse"]
vocal_noise_std = 0.01
window_seconds = 6.0
overlap_seconds = 2.0
""" + ("stage_overrides = {semantic = {temperature = 0.9, cfg_scale = 1.0}, "
       "coarse = {temperature = 0.6, cfg_scale = 1.0}, fine = {temperature = 0.0}}\n\n")  # verbatim


def _legacy(text: str) -> str:
    return text.replace("guidance_scale", "cfg_scale").replace("guidance_stages", "cfg_stages")


def test_old_shipped_sampling_file_loads_to_the_same_settings_with_a_deprecation_warning(tmp_path):
    from hafm.pipeline import load_sampling

    (tmp_path / "sampling.toml").write_text(OLD_SHIPPED_SAMPLING_TOML)
    with pytest.warns(DeprecationWarning) as record:
        old = load_sampling(tmp_path)
    assert {str(w.message) for w in record} == {
        f"config key sampling.{key} is deprecated; use guidance_{key[4:]}" for key in ("cfg_scale", "cfg_stages")} | {
        f"config key sampling.stage_overrides.{stage}.cfg_scale is deprecated; use guidance_scale"
        for stage in ("semantic", "coarse")}
    assert old == config.SamplingConfig(vocal_noise_std=0.01, stage_overrides={
        "semantic": {"temperature": 0.9, "guidance_scale": 1.0},
        "coarse": {"temperature": 0.6, "guidance_scale": 1.0}, "fine": {"temperature": 0.0}})


def test_old_config_saved_next_to_a_checkpoint_loads_to_the_same_config(tmp_path):
    cfg = config.paper()
    cfg.sampling = config.SamplingConfig(guidance_scale=2.5, guidance_stages=("coarse",),
                                         stage_overrides={"fine": {"guidance_scale": 1.5, "temperature": 0.3}})
    old_text = _legacy(config.to_toml(cfg))
    assert "cfg_scale = 2.5" in old_text and "guidance" not in old_text
    path = tmp_path / "config.toml"
    path.write_text('preset = "paper"\n' + old_text)
    with pytest.warns(DeprecationWarning) as record:
        assert config.load_config(str(path)) == cfg
    assert any("sampling.cfg_stages is deprecated; use guidance_stages" in str(w.message) for w in record)


def test_old_checkpoint_config_dict_loads_to_the_same_config():
    import json

    from hafm.checkpoints import config_of

    cfg = config.small()
    old = json.loads(_legacy(json.dumps(cfg.to_dict())))  # as saved in a checkpoint (or JSON) before the rename
    assert old["sampling"]["cfg_scale"] == 3.0 and "guidance_stages" not in old["sampling"]
    with pytest.warns(DeprecationWarning):
        assert config_of({"config": old}) == cfg


def test_old_stage_override_key_is_renamed_in_code_too():
    with pytest.warns(DeprecationWarning, match="stage_overrides.coarse.cfg_scale"):
        sampling = config.SamplingConfig(stage_overrides={"coarse": {"cfg_scale": 2.0}})
    assert sampling.stage_overrides == {"coarse": {"guidance_scale": 2.0}}
    assert sampling.effective()["coarse"]["guidance_scale"] == 2.0


def test_old_and_new_name_of_one_setting_together_are_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[sampling]\ncfg_scale = 2.0\nguidance_scale = 3.0\n")
    with pytest.raises(HafmError, match="sampling.cfg_scale and sampling.guidance_scale both given"):
        config.load_config(str(path))


def test_new_names_load_without_a_deprecation_warning(tmp_path, recwarn):
    path = tmp_path / "c.toml"
    path.write_text(config.to_toml(config.small()))
    assert config.load_config(str(path)) == config.small()
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_identity_dict_keeps_the_hashes_made_before_the_rename(tmp_path):
    """The pipeline identity (the benchmark's output-cache key) hashes the sampling settings; these
    are sha256_json(dataclasses.asdict(settings)) as computed with the old field names."""
    from hafm.fileio import sha256_json
    from hafm.pipeline import load_sampling

    # the hashes were made with the vocal noise default of that time, 0.01
    assert sha256_json(config.SamplingConfig(vocal_noise_std=0.01).identity_dict()) == \
        "6359c9bbec93aebfcae157d6a4dc23a650567e819bff9b4471da5ed1a7411821"
    custom = config.SamplingConfig(guidance_scale=2.0, guidance_stages=("coarse",), vocal_noise_std=0.01,
                                   stage_overrides={"fine": {"guidance_scale": 1.5, "temperature": 0.3}})
    assert sha256_json(custom.identity_dict()) == "fc7fb85df0dbb29af4d86254c4dad184c7cbfe739592b329c9804bf53c7df249"
    (tmp_path / "sampling.toml").write_text(OLD_SHIPPED_SAMPLING_TOML)
    with pytest.warns(DeprecationWarning):
        shipped_before = load_sampling(tmp_path)  # the sampling.toml shipped before the rename
    assert sha256_json(shipped_before.identity_dict()) == \
        "ab3e7f239156b48add3a678a71c83b8e5eb5088c1ed5e50908390862fe5af04d"
