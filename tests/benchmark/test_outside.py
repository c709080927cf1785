import json

import numpy as np
import pytest
import soundfile as sf

from benchmark.clips import load_manifest
from benchmark.config import BenchmarkConfig
from benchmark.outside import export_clips, parse_system_dirs


@pytest.fixture
def cfg():
    return BenchmarkConfig(clip_seconds=4.0, clips_per_song=2, min_vocal_active=0.5)


def test_export_writes_the_vocals_of_every_clip_and_a_manifest(tiny_musdb, tmp_path, cfg):
    entries = export_clips(cfg, tiny_musdb, tmp_path / "results", tmp_path / "clips")
    manifest = json.loads((tmp_path / "clips" / "manifest.json").read_text())
    assert manifest["sample_rate"] == 24_000 and manifest["clips"] == entries and len(entries) == 8
    audio, sr = sf.read(tmp_path / "clips" / entries[0]["file"])
    assert sr == 24_000 and len(audio) == 4 * 24_000 and np.abs(audio).max() > 0.01


def test_export_uses_the_runs_clip_selection(tiny_musdb, tmp_path, cfg):
    entries = export_clips(cfg, tiny_musdb, tmp_path / "results", tmp_path / "clips")
    clips, _ = load_manifest(tmp_path / "results" / "_cache" / "clips.json")
    assert [e["clip_id"] for e in entries] == [c.clip_id for c in clips]


def test_export_honours_max_clips(tiny_musdb, tmp_path, cfg):
    cfg.max_clips = 3
    assert len(export_clips(cfg, tiny_musdb, tmp_path / "results", tmp_path / "clips")) == 3
    assert len(list((tmp_path / "clips").glob("*.wav"))) == 3


def test_system_dirs_parse_name_and_folder(tmp_path):
    assert parse_system_dirs([f"mine={tmp_path}"]) == {"mine": tmp_path}


@pytest.mark.parametrize("value", ["mine", "=x", "my-model=x"])
def test_malformed_system_dir_is_refused(value):
    with pytest.raises(ValueError, match="NAME=DIR"):
        parse_system_dirs([value])
