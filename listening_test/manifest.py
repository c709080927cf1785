"""The stimuli manifest: the contract between whoever makes stimuli (``build-stimuli``, the
benchmark) and the study server.

JSON layout (paths relative to the manifest's folder, durations in seconds, loudness in LUFS)::

    {
      "format": "hafm-stimuli/1",
      "created_utc": "2026-11-26T01:00:00Z",
      "source": "/path/the/stimuli/came/from",
      "sample_rate": 24000,
      "target_lufs": -23.0,            # every mix is loudness-normalised (BS.1770) to this
      "systems": ["ground_truth", "random", "three_stage", "two_stage"],
      "catch": {"base_system": "ground_truth", "transpose_semitones": 1.0},
      "calibration": {"path": "calibration.wav", "sha256": "...", "duration_s": 2.0},
      "items": [
        {"id": "song-a", "duration_s": 10.0, "vocals_sha256": "...", "offbeat_shift_s": 0.25,
         "stimuli": {"three_stage": {"path": "mixes/000/three_stage.wav", "sha256": "...",
                                      "duration_s": 10.0, "loudness_lufs": -23.0, "peak": 0.41},
                     "catch_offbeat": {...}, "catch_transposed": {...}}}
      ]
    }

Within an item every stimulus has the same duration and the same vocal, so A and B differ only
in the accompaniment (and not in file size either).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hafm.fileio import sha256_file

from .config import StudyConfig, StudyConfigError

FORMAT = "hafm-stimuli/1"
CATCH_OFFBEAT = "catch_offbeat"
CATCH_TRANSPOSED = "catch_transposed"
CATCH_STIMULI = (CATCH_OFFBEAT, CATCH_TRANSPOSED)
SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


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


def _stimulus(root: Path, entry: Any, where: str, verify: bool) -> Stimulus:
    if not isinstance(entry, dict) or not {"path", "sha256", "duration_s"} <= set(entry):
        raise StudyConfigError(f"{where}: needs path, sha256 and duration_s")
    path = (root / entry["path"]).resolve()
    if root not in path.parents:
        raise StudyConfigError(f"{where}: path {entry['path']!r} leaves the manifest folder")
    if not path.is_file():
        raise StudyConfigError(f"{where}: missing file {path}")
    if verify and sha256_file(path) != entry["sha256"]:
        raise StudyConfigError(f"{where}: checksum mismatch for {path} (file changed after build-stimuli?)")
    return Stimulus(path=path, sha256=str(entry["sha256"]), duration_s=float(entry["duration_s"]))


def load_manifest(path: str | Path, verify: bool = True) -> Manifest:
    """Read and validate a manifest; ``verify`` re-hashes every file against its sha256."""
    path = Path(path).resolve()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StudyConfigError(f"{path}: cannot read manifest ({e})") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StudyConfigError(f"{path}: not a {FORMAT} manifest")
    root = path.parent
    systems = tuple(data.get("systems", ()))
    if not systems or not all(isinstance(s, str) and SYSTEM_NAME.match(s) for s in systems):
        raise StudyConfigError(f"{path}: systems must be a non-empty list of simple names")
    items = []
    for k, raw in enumerate(data.get("items", ())):
        where = f"{path}: items[{k}]"
        stimuli = {name: _stimulus(root, e, f"{where}.{name}", verify) for name, e in raw.get("stimuli", {}).items()}
        missing = set(systems) - set(stimuli)
        if missing:
            raise StudyConfigError(f"{where}: no stimulus for systems {sorted(missing)}")
        items.append(Item(id=str(raw["id"]), duration_s=float(raw["duration_s"]), stimuli=stimuli))
    if not items:
        raise StudyConfigError(f"{path}: no items")
    catch = data.get("catch", {})
    return Manifest(
        root=root,
        sample_rate=int(data["sample_rate"]),
        target_lufs=float(data["target_lufs"]),
        systems=systems,
        catch_base=str(catch.get("base_system", systems[0])),
        calibration=_stimulus(root, data.get("calibration"), f"{path}: calibration", verify),
        items=tuple(items),
    )


def check_study_against_manifest(study: StudyConfig, manifest: Manifest) -> None:
    """Refuse a study whose pairs or catch trials need stimuli the manifest does not have."""
    for x, y in study.pairs:
        for s in (x, y):
            if s not in manifest.systems:
                raise StudyConfigError(
                    f"study {study.study_id}: pair {x} vs {y} names {s!r}, not in the manifest's systems "
                    f"{list(manifest.systems)}"
                )
    wanted = {CATCH_OFFBEAT: study.catch.offbeat, CATCH_TRANSPOSED: study.catch.transposed}
    for name, count in wanted.items():
        if count and not any(name in it.stimuli for it in manifest.items):
            raise StudyConfigError(f"study {study.study_id}: asks for {name} trials but the manifest has none")
