"""Study configuration: dataclasses with defaults, loaded from TOML or YAML.

A study is one of these files plus the stimuli manifest it names (see ``stimuli.py``). Relative
paths in the file (``manifest``, ``database``) are resolved against the file's own folder, so a
study folder can be moved as a whole.

Example (TOML)::

    study_id = "hafm-2026"
    manifest = "manifest.json"
    pairs = [["three_stage", "ground_truth"], ["three_stage", "random"], ["two_stage", "three_stage"]]
    [catch]
    identical = 1
    [screening]
    headphone_trials = 6
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from hafm.errors import HafmError

# The paper's comparisons, in "x vs y" order: x is the system the question is about.
PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("three_stage", "ground_truth"),
    ("three_stage", "random"),
    ("two_stage", "three_stage"),
)

ATTRIBUTES = ("rhythm", "harmony", "coherence")

# Anchored labels of the 1-5 scales, shown next to every radio button.
ANCHORS: dict[str, tuple[str, ...]] = {
    "rhythm": ("Not aligned at all", "Poorly aligned", "Partly aligned", "Well aligned", "Perfectly aligned"),
    "harmony": ("Clashes throughout", "Often clashes", "Some clashes", "Mostly compatible", "Fully compatible"),
    "coherence": ("Not coherent", "Barely coherent", "Somewhat coherent", "Mostly coherent", "Fully coherent"),
}

QUESTIONS = {
    "rhythm": "Rhythm: how well does the accompaniment follow the rhythm of the voice?",
    "harmony": "Harmony: how well do the accompaniment's notes and chords fit the voice?",
    "coherence": "Coherence: how well do voice and accompaniment sound like one piece of music?",
}


class StudyConfigError(HafmError):
    """A study file or its manifest is unusable; the message names the file and the field."""


@dataclass
class ScreeningConfig:
    """Woods et al. (2017) antiphase headphone check: pick the quietest of three 200 Hz tones."""

    headphone_trials: int = 6
    pass_threshold: int = 5  # correct answers needed to pass (recorded, not used to exclude)
    tone_hz: float = 200.0
    tone_s: float = 1.0
    gap_s: float = 0.5
    sample_rate: int = 16000


@dataclass
class CatchConfig:
    """Catch trials per session; stimuli for offbeat/transposed are made by build-stimuli."""

    identical: int = 1  # the same mix on both sides (as two files that differ only below audibility)
    offbeat: int = 1  # base system vs its accompaniment shifted off the beat
    transposed: int = 1  # base system vs its accompaniment pitch-shifted


@dataclass
class SecurityConfig:
    requests_per_minute: int = 240  # per participant session (or per IP before one exists)
    new_sessions_per_hour: int = 60  # per client IP
    max_body_bytes: int = 8192
    cookie_secure: bool = False  # set true behind HTTPS
    trust_proxy: bool = False  # honour one X-Forwarded-For hop (behind nginx)


@dataclass
class StudyConfig:
    study_id: str = "hafm-listening"
    title: str = "Accompaniment listening study"
    manifest: str = "manifest.json"
    database: str = "listening.sqlite"
    pairs: list[tuple[str, str]] = field(default_factory=lambda: [tuple(p) for p in PAPER_PAIRS])
    items_per_session: int = 0  # 0 = every item once per session
    seed: int = 0
    playback_slack_ms: int = 300  # server clock may see a clip "end" this much before its duration
    participant_param: str = "PROLIFIC_PID"  # URL parameter carrying the crowd-platform id
    completion_code: str = ""  # fixed code (Prolific); empty = a per-session code
    completion_url: str = ""  # e.g. https://app.prolific.com/submissions/complete?cc={code}
    catch: CatchConfig = field(default_factory=CatchConfig)
    screening: ScreeningConfig = field(default_factory=ScreeningConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    root: Path = field(default=Path("."), metadata={"serialise": False})

    @property
    def manifest_path(self) -> Path:
        return (self.root / self.manifest).resolve()

    @property
    def database_path(self) -> Path:
        return (self.root / self.database).resolve()


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls) if f.metadata.get("serialise", True)}
    unknown = sorted(str(k) for k in set(data) - set(known))  # YAML keys may be numbers
    if unknown:
        raise StudyConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise StudyConfigError(f"{where}: [{name}] must be a table")
            kwargs[name] = _build(type(default), value, f"{where} [{name}]")
        elif name == "pairs":
            kwargs[name] = _parse_pairs(value, where)
        else:
            kwargs[name] = _checked_scalar(value, default, f"{where}: {name}")
    return cls(**kwargs)


def _checked_scalar(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, type(default)):
        raise StudyConfigError(f"{where} must be {type(default).__name__}, got {value!r}")
    return value


def _parse_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise StudyConfigError(f"{where}: pairs must be a non-empty list of [x, y] system names")
    pairs = []
    for p in value:
        if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(s, str) for s in p)) or p[0] == p[1]:
            raise StudyConfigError(f"{where}: bad pair {p!r}: need two different system names")
        pairs.append((p[0], p[1]))
    return pairs


def load_study(path: str | Path) -> StudyConfig:
    """Read a study file (``.toml``, ``.yaml``/``.yml``); relative paths resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise StudyConfigError(f"{path}: cannot read study file ({e})") from e
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, RecursionError) as e:  # both parsers recurse on nesting
        raise StudyConfigError(f"{path}: not valid {path.suffix[1:].upper()}: {type(e).__name__}: {e}") from e
    if not isinstance(data, dict):
        raise StudyConfigError(f"{path}: top level must be a table")
    study = _build(StudyConfig, data, str(path))
    study.root = path.parent.resolve()
    return study


def _toml_char(ch: str) -> str:
    """One character inside a TOML basic string: quote and backslash escaped; control characters
    (newline, DEL...) may not appear raw there, so they are written as \\uXXXX."""
    if ch in '"\\':
        return "\\" + ch
    return f"\\u{ord(ch):04x}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_char(ch) for ch in value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def study_to_toml(study: StudyConfig) -> str:
    """Serialise a study (without ``root``) so that ``load_study`` reads the same values back."""
    top, tables = [], []
    for f in fields(study):
        if not f.metadata.get("serialise", True):
            continue
        value = getattr(study, f.name)
        if dataclasses.is_dataclass(value):
            body = "\n".join(f"{g.name} = {_toml_value(getattr(value, g.name))}" for g in fields(value))
            tables.append(f"[{f.name}]\n{body}\n")
        else:
            top.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(top) + "\n\n" + "\n".join(tables)
