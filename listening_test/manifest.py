"""The stimuli manifest: the contract between whoever makes stimuli (``build-stimuli``, the
benchmark) and the study server.

JSON layout (paths relative to the manifest's folder, durations in seconds, loudness in LUFS)::

    {
      "format": "hafm-stimuli/1",
      "created_utc": "2026-11-26T01:00:00Z",
      "source": "/path/the/stimuli/came/from",
      "sample_rate": 24000,
      "channels": 1,                   # 1 or 2 (build-stimuli keeps the sources' by default)
      "target_lufs": -23.0,            # every mix is loudness-normalised (BS.1770) to this
      "systems": ["ground_truth", "random", "three_stage", "two_stage"],
      "catch": {"base_system": "ground_truth", "transpose_semitones": 1.0},
      "calibration": {"path": "calibration.wav", "sha256": "...", "duration_s": 2.0},
      "items": [
        {"id": "song-a", "duration_s": 10.0, "vocals_sha256": "...", "offbeat_shift_s": 0.25,
         "stimuli": {"three_stage": {"path": "mixes/000/three_stage.wav", "sha256": "...",
                                      "duration_s": 10.0, "loudness_lufs": -23.0, "peak": 0.41},
                     "catch_identical": {...}, "catch_offbeat": {...}, "catch_transposed": {...}}}
      ]
    }

Within an item every stimulus has the same duration and the same vocal, so A and B differ only
in the accompaniment (and not in file size either). ``catch_identical`` sounds the same as the
catch base system's mix but is not the same file (see ``stimulus_builder.py``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hafm.fileio import sha256_file

from .study_file import StudyConfig, StudyConfigError

FORMAT = "hafm-stimuli/1"
CATCH_IDENTICAL = "catch_identical"
CATCH_OFFBEAT = "catch_offbeat"
CATCH_TRANSPOSED = "catch_transposed"
CATCH_STIMULI = (CATCH_IDENTICAL, CATCH_OFFBEAT, CATCH_TRANSPOSED)
SYSTEM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")  # used with fullmatch


@dataclass(frozen=True)
class Stimulus:
    path: Path  # absolute
    sha256: str
    duration_s: float


@dataclass(frozen=True)
class Item:
    id: str
    duration_s: float
    stimuli: dict[str, Stimulus]  # system (or catch stimulus) name -> mix


@dataclass(frozen=True)
class Manifest:
    root: Path
    sample_rate: int
    target_lufs: float
    systems: tuple[str, ...]
    catch_base: str
    calibration: Stimulus
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` if ``obj`` is an object holding a value of type ``kind`` there."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise StudyConfigError(f"{where}: {key} is missing or not {getattr(kind, '__name__', kind)}")
    return value


def _positive(obj: Any, key: str, where: str) -> float:
    """A finite number above 0 (durations, rates): inf or NaN would fail far from the manifest."""
    value = float(_field(obj, key, (int, float), where))
    if not math.isfinite(value) or value <= 0:
        raise StudyConfigError(f"{where}: {key} must be a finite number above 0, got {value}")
    return value


def _stimulus(root: Path, entry: Any, where: str, verify: bool) -> Stimulus:
    rel, sha = _field(entry, "path", str, where), _field(entry, "sha256", str, where)
    if "\0" in rel:
        raise StudyConfigError(f"{where}: path {rel!r} contains a NUL byte")
    path = (root / rel).resolve()
    if root not in path.parents:
        raise StudyConfigError(f"{where}: path {rel!r} leaves the manifest folder")
    if not path.is_file():
        raise StudyConfigError(f"{where}: missing file {path}")
    if verify and sha256_file(path) != sha:
        raise StudyConfigError(f"{where}: checksum mismatch for {path} (file changed after build-stimuli?)")
    return Stimulus(path=path, sha256=sha, duration_s=_positive(entry, "duration_s", where))


def _item(root: Path, raw: Any, systems: tuple[str, ...], where: str, verify: bool) -> Item:
    item_id = _field(raw, "id", str, where)
    stimuli = {name: _stimulus(root, e, f"{where}.{name}", verify)
               for name, e in _field(raw, "stimuli", dict, where).items()}
    missing = set(systems) - set(stimuli)
    if missing:
        raise StudyConfigError(f"{where}: no stimulus for systems {sorted(missing)}")
    return Item(id=item_id, duration_s=_positive(raw, "duration_s", where), stimuli=stimuli)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # RecursionError: absurdly deep nesting
        raise StudyConfigError(f"{path}: cannot read manifest ({type(e).__name__}: {e})") from e


def load_manifest(path: str | Path, verify: bool = True) -> Manifest:
    """Read and validate a manifest; ``verify`` re-hashes every file against its sha256.
    Anything malformed raises ``StudyConfigError`` naming the manifest and the field."""
    path = Path(path).resolve()
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StudyConfigError(f"{path}: not a {FORMAT} manifest")
    root, where = path.parent, str(path)
    systems = tuple(_field(data, "systems", list, where))
    if not systems or not all(isinstance(s, str) and SYSTEM_NAME.fullmatch(s) for s in systems):
        raise StudyConfigError(f"{path}: systems must be a non-empty list of simple names")
    items = tuple(_item(root, raw, systems, f"{path}: items[{k}]", verify)
                  for k, raw in enumerate(_field(data, "items", list, where)))
    if not items or len({it.id for it in items}) != len(items):
        raise StudyConfigError(f"{path}: items must be a non-empty list with distinct ids")
    catch = data.get("catch", {})
    base = catch.get("base_system", systems[0]) if isinstance(catch, dict) else None
    if base not in systems:
        raise StudyConfigError(f"{path}: catch.base_system must be one of the systems")
    sample_rate = _positive(data, "sample_rate", where)
    if sample_rate != int(sample_rate):
        raise StudyConfigError(f"{path}: sample_rate must be a whole number of Hz")
    target = float(_field(data, "target_lufs", (int, float), where))
    if not math.isfinite(target):
        raise StudyConfigError(f"{path}: target_lufs must be finite")
    return Manifest(root=root, sample_rate=int(sample_rate), target_lufs=target, systems=systems, catch_base=base,
                    calibration=_stimulus(root, data.get("calibration"), f"{path}: calibration", verify),
                    items=items)


def check_study_against_manifest(study: StudyConfig, manifest: Manifest) -> None:
    """Refuse a study whose pairs or catch trials need stimuli the manifest does not have."""
    for x, y in study.pairs:
        for s in (x, y):
            if s not in manifest.systems:
                raise StudyConfigError(
                    f"study {study.study_id}: pair {x} vs {y} names {s!r}, not in the manifest's systems "
                    f"{list(manifest.systems)}"
                )
    wanted = {CATCH_IDENTICAL: study.catch.identical, CATCH_OFFBEAT: study.catch.offbeat,
              CATCH_TRANSPOSED: study.catch.transposed}
    for name, count in wanted.items():
        if count and not any(name in it.stimuli for it in manifest.items):
            raise StudyConfigError(f"study {study.study_id}: asks for {name} trials but the manifest has none "
                                   "(stimuli built before it existed: run build-stimuli again)")
