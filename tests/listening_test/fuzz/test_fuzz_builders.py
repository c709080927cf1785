"""Property-based fuzzing of what builds a study: ``build-stimuli`` on generated source folders
(malformed, silent, NaN, too short, odd rates and channels, folders named like files), the study
file loader on generated TOML/YAML, the manifest loader on mutated manifests, and the planner.

The contract: a builder either succeeds with a usable result or raises the toolkit's own error
(``HafmError``: ``AudioError``/``StudyConfigError``) naming the problem; ``build-stimuli`` writes
nothing when it refuses its input.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hafm.errors import HafmError
from listening_test.manifest import CATCH_IDENTICAL, CATCH_STIMULI, load_manifest
from listening_test.plan import CATCH_KINDS, session_plan
from listening_test.stimulus_builder import BuildOptions, build_stimuli
from listening_test.study_file import CatchConfig, StudyConfig, StudyConfigError, load_study, study_to_toml

OPTS = BuildOptions(sample_rate=8000, max_seconds=0.8, offbeat_shift_s=0.1)
BAD_KINDS = ["silent", "nan", "short", "garbage", "truncated", "empty", "header-only", "folder"]


def write_audio(path: Path, kind: str, sr: int, channels: int, seconds: float) -> None:
    """One source file of ``kind``: a usable tone, or one of the ways a file can be unusable."""
    n = int(sr * seconds)
    t = np.arange(n) / sr
    x = np.stack([0.2 * np.sin(2 * np.pi * (220 + 55 * c) * t) for c in range(channels)], axis=1)
    if kind == "folder":
        path.mkdir()
        return
    if kind == "silent":
        x[:] = 0.0
    elif kind == "nan":
        x[n // 2, 0] = np.nan
    elif kind == "short":
        x = x[: int(0.1 * sr)]
    elif kind == "header-only":
        x = x[:0]
    sf.write(path, x.astype(np.float32), sr, subtype="FLOAT" if kind == "nan" else "PCM_16", format="WAV")
    if kind == "garbage":
        path.write_bytes(np.random.default_rng(n).bytes(200))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[: 44 + n // 3])
    elif kind == "empty":
        path.write_bytes(b"")


TONE = st.tuples(st.just("tone"), st.sampled_from([8000, 8000, 16000, 11025, 7919]), st.integers(1, 3),
                 st.sampled_from([0.6, 0.8, 1.0]))  # (kind, rate, channels, seconds); 7919 Hz is refused
BAD_NAMES = ["catch_identical", "bad name", "x\n", ".hid"]


@st.composite
def source(draw: Any) -> list[dict[str, tuple]]:
    """A source folder as items of {file stem: file spec}: a usable one (vocals and 1-2 systems of
    tones), then about half the time damaged in 1-2 places: a file made unusable, a system renamed
    to a forbidden name, or a file left out."""
    systems = draw(st.lists(st.sampled_from(["sys_a", "sys_b", "ground_truth"]), min_size=1, max_size=2, unique=True))
    items = [{stem: draw(TONE) for stem in ["vocals", *systems]} for _ in range(draw(st.integers(1, 2)))]
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        files = items[draw(st.integers(0, len(items) - 1))]
        stem = draw(st.sampled_from(sorted(files)))
        how = draw(st.sampled_from(["file", "file", "name", "drop"]))
        if how == "file":
            files[stem] = (draw(st.sampled_from(BAD_KINDS)), *files[stem][1:])
        elif how == "name":
            files[draw(st.sampled_from(BAD_NAMES))] = files.pop(stem)
        else:
            del files[stem]
    return items


def out_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*")) if out.exists() else []


def check_build(tmp: Path, source: list[dict]) -> None:
    src, out = tmp / "src", tmp / "out"
    for k, files in enumerate(source):
        (src / f"item{k}").mkdir(parents=True)
        for stem, spec in files.items():
            write_audio(src / f"item{k}" / f"{stem}.wav", *spec)
    try:
        manifest_path = build_stimuli(src, out, OPTS)
    except HafmError as e:
        assert str(e) and not out_files(out), f"refused ({e}) but wrote {out_files(out)}"
        event(f"refused: {type(e).__name__}")  # --hypothesis-show-statistics shows the share built
        return
    event("built")
    m = load_manifest(manifest_path, verify=True)
    for item in m.items:
        assert set(item.stimuli) == {*m.systems, *CATCH_STIMULI}
        sizes = {s.path.stat().st_size for s in item.stimuli.values()}
        assert len(sizes) == 1, "A and B of an item must have equal file sizes"
        base, copy = (sf.read(item.stimuli[n].path, dtype="int16")[0] for n in (m.catch_base, CATCH_IDENTICAL))
        assert not np.array_equal(base, copy)


@settings(settings.get_profile("lt-fuzz"), max_examples=25)
@given(source=source())
def test_build_stimuli_succeeds_or_refuses_cleanly(tmp_path_factory, source):
    check_build(tmp_path_factory.mktemp("build"), source)


@pytest.mark.slow
@settings(settings.get_profile("lt-fuzz-slow"), max_examples=120)
@given(source=source())
def test_build_stimuli_succeeds_or_refuses_cleanly_long_run(tmp_path_factory, source):
    check_build(tmp_path_factory.mktemp("build"), source)


STUDY_FIELDS = sorted(f.name for f in fields(StudyConfig) if f.metadata.get("serialise", True))
TABLE_FIELDS = {"catch": sorted(f.name for f in fields(CatchConfig)), "screening": ["headphone_trials", "tone_hz"],
                "security": ["requests_per_minute", "cookie_secure"]}
SCALARS = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats()
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                      max_leaves=6)
KEYS = st.sampled_from(STUDY_FIELDS) | st.text(max_size=8) | st.integers(0, 3)
TOML_LITERALS = ['1', '-5', '"x"', 'true', '3.5', 'inf', 'nan', '[1, "a"]', '[["a", "b"]]', '[["a", "a"]]',
                 '{ a = 1 }', '1979-05-27', '[]', '"two\\nlines"', '"\\u007f"', '0', '"ground_truth"']


@st.composite
def study_text(draw: Any) -> tuple[str, str]:
    """A study file as (suffix, text): YAML from generated data, TOML from generated lines, or
    deeply nested text in either."""
    kind = draw(st.sampled_from(["yaml", "toml", "toml", "deep"]))
    if kind == "yaml":
        data = draw(st.dictionaries(KEYS, VALUES, max_size=4) | VALUES)
        return ".yaml", yaml.safe_dump(data, allow_unicode=True)
    if kind == "deep":
        n = draw(st.integers(50, 3000))
        nested = "[" * n + "]" * n
        return draw(st.sampled_from([(".yaml", f"pairs: {nested}"), (".toml", f"pairs = {nested}")]))
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        table = draw(st.sampled_from([None, *TABLE_FIELDS]))
        key = draw(st.sampled_from(TABLE_FIELDS[table] if table else STUDY_FIELDS) | st.sampled_from(["x", "root"]))
        lines.append((f"[{table}]\n" if table else "") + f"{key} = {draw(st.sampled_from(TOML_LITERALS))}")
    top = [ln for ln in lines if not ln.startswith("[")]
    return ".toml", "\n".join(top + [ln for ln in lines if ln.startswith("[")]) + "\n"


def check_study(folder: Path, suffix: str, text: str) -> None:
    path = folder / f"study{suffix}"
    path.write_text(text, encoding="utf-8")
    try:
        study = load_study(path)
    except StudyConfigError as e:
        assert str(path) in str(e)
        return
    # A study that loads can be written back and reads the same (build-stimuli writes it so).
    again = folder / "again.toml"
    again.write_text(study_to_toml(study), encoding="utf-8")
    assert study_to_toml(load_study(again)) == study_to_toml(study)


@settings(settings.get_profile("lt-fuzz"), max_examples=150)
@given(case=study_text())
def test_study_files_load_or_raise_a_study_error(tmp_path_factory, case):
    check_study(tmp_path_factory.mktemp("studyfile"), *case)


@pytest.fixture(scope="module")
def study_copy(built_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("manifests") / "study"
    shutil.copytree(built_study, folder)
    return folder


def mutate(draw: Any, node: Any) -> Any:
    """``node`` with one value somewhere replaced, deleted, or made to point elsewhere."""
    if isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        node[key] = mutate(draw, node[key])
        if isinstance(node, dict) and draw(st.integers(0, 5)) == 0:
            del node[key]
        return node
    return draw(VALUES | st.sampled_from(["../../../etc/passwd", "/etc/passwd", "mixes/000/\u0000.wav", "mixes",
                                          "calibration.wav", -1.0, 1e308, 0, 2**64, "NaN"]))


@settings(settings.get_profile("lt-fuzz"), max_examples=150)
@given(data=st.data())
def test_manifests_load_or_raise_a_study_error(study_copy, data):
    manifest = json.loads((study_copy / "manifest.json").read_text())
    path = study_copy / "fuzzed.json"
    path.write_text(json.dumps(mutate(data.draw, manifest)))
    try:
        m = load_manifest(path, verify=data.draw(st.booleans()))
    except StudyConfigError:
        return
    assert m.items and m.sample_rate > 0 and len({it.id for it in m.items}) == len(m.items)
    for stim in [m.calibration, *(s for it in m.items for s in it.stimuli.values())]:
        assert study_copy in stim.path.parents and stim.path.is_file()
        assert math.isfinite(stim.duration_s) and stim.duration_s > 0


@st.composite
def plan_case(draw: Any) -> dict:
    items = [f"i{k}" for k in range(draw(st.integers(1, 7)))]
    systems = ["s0", "s1", "s2", "s3"][: draw(st.integers(2, 4))]
    pairs = draw(st.lists(st.tuples(st.sampled_from(systems), st.sampled_from(systems)).filter(lambda p: p[0] != p[1]),
                          min_size=1, max_size=4))
    catch = CatchConfig(*(draw(st.integers(0, 2)) for _ in range(3)))
    catch_items = {kind: draw(st.lists(st.sampled_from(items), min_size=1, unique=True)) for kind in CATCH_KINDS}
    return dict(items=items, pairs=pairs, catch=catch, catch_base="s0", catch_items=catch_items,
                k=draw(st.integers(0, 10_000)), per_session=draw(st.integers(0, 8)))


@settings(settings.get_profile("lt-fuzz"), max_examples=200)
@given(case=plan_case())
def test_every_plan_compares_two_different_stimuli(case):
    trials = session_plan(**case)
    catch = case["catch"]
    n_regular = len(case["items"]) if not 0 < case["per_session"] < len(case["items"]) else case["per_session"]
    assert len(trials) == n_regular + catch.identical + catch.offbeat + catch.transposed
    for t in trials:
        assert t.system_a != t.system_b and {t.system_a, t.system_b} == {t.pair_x, t.pair_y}
        if t.catch_kind:
            assert t.pair_y == CATCH_KINDS[t.catch_kind] and t.item in case["catch_items"][t.catch_kind]
        else:
            assert (t.pair_x, t.pair_y) in case["pairs"]
