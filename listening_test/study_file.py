"""The study file: the study's configuration as dataclasses with defaults, loaded from TOML or YAML.

A study is one of these files plus the stimuli manifest it names (see ``manifest.py``;
``build-stimuli``, ``stimulus_builder.py``, writes both). Relative paths in the file
(``manifest``, ``database``) are resolved against the file's own folder, so a study folder can be
moved as a whole.

Example (TOML)::

    study_id = "hafm-2026"
    manifest = "manifest.json"
    pairs = [["three_stage", "ground_truth"], ["three_stage", "random"], ["two_stage", "three_stage"]]
    [[questions]]
    id = "clarity"
    prompt = "How clear is the vocal?"
    min = 1
    max = 3
    labels = ["unclear", "mostly clear", "clear"]
    [text]
    consent = "Markdown shown on the consent page."
    [audio]
    sample_rate = 0     # keep the sources' rate
    [catch]
    base_system = "ground_truth"
    identical = 1
    [screening]
    headphone_trials = 6

Every key is optional; ``listening_test/README.md`` documents a complete file.
"""

from __future__ import annotations

import dataclasses
import re
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

QUESTION_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")  # fullmatch; becomes the export columns ID_a, ID_b
# Export columns a question id may not shadow (``export.py`` writes ``ID_a``/``ID_b`` beside them).
RESERVED_COLUMNS = frozenset({"system_a", "system_b", "plays_a", "plays_b", "pair_x", "pair_y"})
MAX_SCALE_POINTS = 11  # radio buttons per side and question
AUDIO_CHANNELS = ("keep", "mono", "stereo")


@dataclass
class Question:
    """One rating question, answered for A and for B on the integer scale ``min``..``max``."""

    id: str = ""  # export columns ``ID_a``/``ID_b``; lowercase letters, digits, _
    name: str = ""  # short name (setup page, screen readers); "" = the id
    prompt: str = ""  # the question above the two scales
    summary: str = ""  # one line on the setup page after the name; "" = not explained there
    min: int = 1
    max: int = 5
    labels: list[str] = field(default_factory=list)  # one per scale point, or [] for numbers only


def _q(qid: str, summary: str, prompt: str, labels: tuple[str, ...]) -> Question:
    return Question(id=qid, name=qid.capitalize(), prompt=prompt, summary=summary, labels=list(labels))


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    _q("rhythm", "does the accompaniment follow the rhythm of the voice?",
       "Rhythm: how well does the accompaniment follow the rhythm of the voice?",
       ("Not aligned at all", "Poorly aligned", "Partly aligned", "Well aligned", "Perfectly aligned")),
    _q("harmony", "do its notes and chords fit the voice?",
       "Harmony: how well do the accompaniment's notes and chords fit the voice?",
       ("Clashes throughout", "Often clashes", "Some clashes", "Mostly compatible", "Fully compatible")),
    _q("coherence", "do voice and accompaniment sound like one piece of music?",
       "Coherence: how well do voice and accompaniment sound like one piece of music?",
       ("Not coherent", "Barely coherent", "Somewhat coherent", "Mostly coherent", "Fully coherent")),
)
ATTRIBUTES = tuple(q.id for q in DEFAULT_QUESTIONS)

DEFAULT_CONSENT = """\
This study asks you to compare short music recordings: a singing voice with two different
accompaniments. You will rate how well each accompaniment fits the voice. It takes about
15 minutes. Please use headphones in a quiet place.

- We record your answers, when you gave them and when you played each clip.
- If you came from a crowd-sourcing platform, we store only a keyed hash of your participant id,
  never the id itself, and no e-mail or IP address.
- Your answers are used for research on music generation and kept for at most five years.
  You may stop at any time; to withdraw your data afterwards, contact the researchers with
  your participant id or completion code.
"""


@dataclass
class TextConfig:
    """What the pages say. ``consent`` and ``task`` are Markdown (raw HTML is shown as text)."""

    consent: str = DEFAULT_CONSENT
    consent_agree: str = ("I have read the information above, I am at least 18 years old, "
                          "and I agree to take part.")
    task: str = ("In each trial you hear the same voice twice, with accompaniment **A** and with accompaniment "
                 "**B**. Play both to the end (you may replay them), choose the one you prefer, then rate each on:")
    trial_heading: str = "Which accompaniment fits the voice better?"
    trial_instructions: str = "Play both versions to the end; you can replay them."
    preference: str = "Which do you prefer?"


@dataclass
class AudioConfig:
    """How ``build-stimuli`` treats the sources' sample rate and channels (loudness matching
    always applies). Any conversion is reported on stderr."""

    sample_rate: int = 0  # Hz; 0 = keep the sources' rate (the highest, if they differ)
    channels: str = "keep"  # "keep" (the most any source has), "mono" (downmix) or "stereo"


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
    # The system the catch stimuli are made from: "" = ground_truth; required without ground_truth.
    base_system: str = ""


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
    questions: list[Question] = field(default_factory=lambda: [dataclasses.replace(q) for q in DEFAULT_QUESTIONS])
    text: TextConfig = field(default_factory=TextConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
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
        elif name == "questions":
            kwargs[name] = _parse_questions(value, where)
        elif name == "labels":
            kwargs[name] = _parse_labels(value, f"{where}: labels")
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


def _parse_labels(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StudyConfigError(f"{where} must be a list of strings, got {value!r}")
    return list(value)


def _check_question(q: Question, where: str) -> None:
    """Refuse a question the pages, the answer parser or the export could not handle."""
    if not QUESTION_ID.fullmatch(q.id) or {f"{q.id}_a", f"{q.id}_b"} & RESERVED_COLUMNS:
        raise StudyConfigError(f"{where}: id {q.id!r} must be 1-32 lowercase letters, digits or _ (starting "
                               f"with a letter), and not make an export column {sorted(RESERVED_COLUMNS)}")
    if not q.prompt.strip():
        raise StudyConfigError(f"{where}: prompt is missing")
    points = q.max - q.min + 1
    if not 2 <= points <= MAX_SCALE_POINTS:
        raise StudyConfigError(f"{where}: min {q.min} .. max {q.max} must give 2 to {MAX_SCALE_POINTS} scale points")
    if q.labels and len(q.labels) != points:
        raise StudyConfigError(f"{where}: labels has {len(q.labels)} entries, the scale {q.min}..{q.max} "
                               f"has {points} points (give one label per point, or none)")


def _parse_questions(value: Any, where: str) -> list[Question]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise StudyConfigError(f"{where}: questions must be a non-empty list of tables ([[questions]])")
    questions = []
    for k, raw in enumerate(value):
        q = _build(Question, raw, f"{where} questions[{k}]")
        _check_question(q, f"{where}: questions[{k}]")
        questions.append(dataclasses.replace(q, name=q.name or q.id))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise StudyConfigError(f"{where}: question ids must be distinct, got {ids}")
    return questions


def _check_audio(audio: AudioConfig, where: str) -> None:
    if audio.channels not in AUDIO_CHANNELS:
        raise StudyConfigError(f"{where} [audio]: channels must be one of {AUDIO_CHANNELS}, got {audio.channels!r}")
    if audio.sample_rate != 0 and not 8000 <= audio.sample_rate <= 192000:
        raise StudyConfigError(f"{where} [audio]: sample_rate must be 0 (keep) or 8000-192000 Hz, "
                               f"got {audio.sample_rate}")


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
    _check_audio(study.audio, str(path))
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


def _toml_table(header: str, obj: Any) -> str:
    body = "\n".join(f"{g.name} = {_toml_value(getattr(obj, g.name))}" for g in fields(obj))
    return f"{header}\n{body}\n"


def study_to_toml(study: StudyConfig) -> str:
    """Serialise a study (without ``root``) so that ``load_study`` reads the same values back."""
    top, tables = [], []
    for f in fields(study):
        if not f.metadata.get("serialise", True):
            continue
        value = getattr(study, f.name)
        if dataclasses.is_dataclass(value):
            tables.append(_toml_table(f"[{f.name}]", value))
        elif f.name == "questions":
            tables.extend(_toml_table("[[questions]]", q) for q in value)
        else:
            top.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(top) + "\n\n" + "\n".join(tables)
