"""Pure parts: trial plans, study files, stimuli manifest, headphone tones."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hafm.audio import loudness
from hafm.errors import AudioError
from listening_test.manifest import load_manifest
from listening_test.media import antiphase_triplet
from listening_test.plan import session_plan, williams_row
from listening_test.stimulus_builder import BuildOptions, build_stimuli, discover
from listening_test.study_file import (
    CatchConfig,
    StudyConfigError,
    load_study,
    study_to_toml,
)

PAIRS = [("three_stage", "ground_truth"), ("three_stage", "random"), ("two_stage", "three_stage")]
ITEMS = [f"v{i}" for i in range(6)]
NO_CATCH = CatchConfig(identical=0, offbeat=0, transposed=0)


def plan(k: int, catch: CatchConfig = NO_CATCH, items=ITEMS, per_session: int = 0):
    return session_plan(items, PAIRS, catch, "ground_truth", {c: items for c in ("identical", "offbeat", "transposed")},
                        k, per_session)


@pytest.mark.parametrize("n", [4, 5])
def test_williams_rows_balance_first_order_carryover(n):
    rows = [williams_row(n, r) for r in range(n if n % 2 == 0 else 2 * n)]
    pairs = Counter((a, b) for row in rows for a, b in itertools.pairwise(row))
    assert all(sorted(r) == list(range(n)) for r in rows) and len(set(pairs.values())) == 1


def test_p_consecutive_participants_cover_every_item_pair_cell_once():
    cells = Counter((t.item, t.pair_x, t.pair_y) for k in range(3) for t in plan(k))
    assert len(cells) == len(ITEMS) * len(PAIRS) and set(cells.values()) == {1}


def test_2p_participants_hear_every_cell_in_both_orders():
    sides = Counter((t.item, t.pair_x, t.pair_y, t.system_a == t.pair_x) for k in range(6) for t in plan(k))
    assert len(sides) == 2 * len(ITEMS) * len(PAIRS) and set(sides.values()) == {1}


def test_catch_trials_are_spread_and_never_first():
    trials = plan(0, CatchConfig(identical=1, offbeat=1, transposed=1))
    positions = [i for i, t in enumerate(trials) if t.catch_kind]
    assert len(positions) == 3 and positions[0] > 0 and positions[-1] < len(trials) - 1


def test_identical_catch_plays_the_base_against_its_identical_copy():
    t = next(t for t in plan(0, CatchConfig(identical=1, offbeat=0, transposed=0)) if t.catch_kind)
    assert {t.system_a, t.system_b} == {"ground_truth", "catch_identical"}


def test_items_per_session_rotates_blocks():
    seen = [frozenset(t.item for t in plan(k, items=ITEMS, per_session=2)) for k in range(3)]
    assert set().union(*seen) == set(ITEMS) and all(len(s) == 2 for s in seen)


def test_study_file_round_trips(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('study_id = "x"\npairs = [["a", "b"]]\n[catch]\nidentical = 2\n')
    study = load_study(path)
    (tmp_path / "t.toml").write_text(study_to_toml(study))
    again = load_study(tmp_path / "t.toml")
    assert again.pairs == [("a", "b")] and again.catch.identical == 2 and again.study_id == "x"


def test_yaml_study_file_is_read(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("study_id: y\nscreening:\n  headphone_trials: 4\n")
    assert load_study(path).screening.headphone_trials == 4


@pytest.mark.parametrize("text", ['unknown_field = 1\n', 'pairs = [["a", "a"]]\n', 'seed = "zero"\n',
                                  '[catch]\nidentical = true\n', 'not toml ['])
def test_bad_study_files_raise_a_clear_error(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(StudyConfigError, match="bad.toml"):
        load_study(path)


def test_manifest_lists_every_system_and_catch_stimulus(built_study):
    m = load_manifest(built_study / "manifest.json")
    assert m.systems == ("ground_truth", "random", "three_stage", "two_stage")
    assert all({"catch_identical", "catch_offbeat", "catch_transposed", *m.systems} == set(it.stimuli)
               for it in m.items)


def test_stimuli_of_an_item_have_equal_length_and_target_loudness(built_study):
    m = load_manifest(built_study / "manifest.json")
    for item in m.items:
        clips = [sf.read(s.path)[0] for s in item.stimuli.values()]
        assert len({len(a) for a in clips}) == 1
        assert all(abs(loudness(a.T, m.sample_rate) - m.target_lufs) < 0.5 for a in clips)


def test_offbeat_catch_differs_from_its_base(built_study):
    item = load_manifest(built_study / "manifest.json").items[0]
    base, shifted = (sf.read(item.stimuli[n].path)[0] for n in ("ground_truth", "catch_offbeat"))
    assert np.abs(base - shifted).max() > 0.01


def test_tampered_stimulus_is_detected(built_study, tmp_path):
    import shutil

    copy = tmp_path / "study"
    shutil.copytree(built_study, copy)
    victim = copy / json.loads((copy / "manifest.json").read_text())["items"][0]["stimuli"]["random"]["path"]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(StudyConfigError, match="checksum"):
        load_manifest(copy / "manifest.json")


def test_system_first_layout_is_discovered(source_folder, tmp_path):
    for item_dir in source_folder.iterdir():
        for wav in item_dir.glob("*.wav"):
            (tmp_path / wav.stem).mkdir(exist_ok=True)
            (tmp_path / wav.stem / f"{item_dir.name}.wav").write_bytes(wav.read_bytes())
    table = discover(tmp_path)
    assert set(table) == {p.name for p in source_folder.iterdir()} and "three_stage" in next(iter(table.values()))


def test_silent_vocal_is_refused(tmp_path):
    (tmp_path / "src" / "a").mkdir(parents=True)
    sf.write(tmp_path / "src" / "a" / "vocals.wav", np.zeros(24000, np.float32), 24000)
    sf.write(tmp_path / "src" / "a" / "sys.wav", 0.1 * np.ones(24000, np.float32), 24000)
    with pytest.raises(AudioError, match="silent"):
        build_stimuli(tmp_path / "src", tmp_path / "out", BuildOptions(catch_base="sys"))


def _tone_item(folder: Path, seconds: float = 1.0, sr: int = 24000) -> None:
    folder.mkdir(parents=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(folder / "vocals.wav", (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    sf.write(folder / "sys.wav", (0.2 * np.sin(2 * np.pi * 110 * t) * (t % 0.5 < 0.25)).astype(np.float32), sr)


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_corrupt_wav_is_refused_before_a_built_study_is_touched(tmp_path):
    for item in ("a", "b"):
        _tone_item(tmp_path / "src" / item)
    build_stimuli(tmp_path / "src", tmp_path / "out", BuildOptions(max_seconds=1.0, catch_base="sys"))
    before = _files(tmp_path / "out")
    (tmp_path / "src" / "b" / "sys.wav").write_bytes(b"RIFF" + bytes(40))
    with pytest.raises(AudioError, match=r"b[/\\]sys\.wav: unreadable"):
        build_stimuli(tmp_path / "src", tmp_path / "out", BuildOptions(max_seconds=1.0, catch_base="sys"))
    assert _files(tmp_path / "out") == before


def test_a_too_short_accompaniment_is_named(tmp_path):
    _tone_item(tmp_path / "src" / "a")
    sf.write(tmp_path / "src" / "a" / "sys.wav", 0.1 * np.ones(2400, np.float32), 24000)
    with pytest.raises(AudioError, match=r"sys\.wav: 0\.100 s of audio"):
        build_stimuli(tmp_path / "src", tmp_path / "out", BuildOptions(catch_base="sys"))


def test_antiphase_tone_inverts_one_channel_and_quiet_tone_is_6db_down():
    sr, tone_s = 8000, 0.2
    x = antiphase_triplet(("ref", "antiphase", "quiet"), 200.0, tone_s, 0.1, sr)
    n, step = int(tone_s * sr), int(0.3 * sr)
    ref, anti, quiet = (x[i * step : i * step + n] for i in range(3))
    assert np.allclose(anti[:, 0], -anti[:, 1]) and np.allclose(ref[:, 0], ref[:, 1])
    assert np.isclose(np.abs(quiet).max() / np.abs(ref).max(), 0.5, atol=1e-3)

