"""Strict parsing of everything a participant's browser sends (the bodies themselves are read by
``bodies.py``). Anything unexpected is refused with 400 (malformed identifiers) or 422
(well-formed but invalid); nothing is coerced or cut to size.

Identifiers are matched whole (``fullmatch``: ``$`` alone also matches before a trailing newline,
which let ``PROLIFIC_PID=X%0A`` open a second session for participant X) against a whitelist of
characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import BadRequest, UnprocessableEntity

from .study_file import Question

PLATFORM_ID = re.compile(r"[A-Za-z0-9_.:@\-]{1,128}")
PLATFORM_REF = re.compile(r"[A-Za-z0-9_.:@\-]{1,64}")  # the platform's study and attempt ids
TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,64}")
EVENTS = ("play", "pause", "ended")
# Fields of each playback event, all required: "ended" carries the page's measured coverage.
EVENT_FIELDS = {"play": {"token", "event", "position_ms"}, "pause": {"token", "event", "position_ms"},
                "ended": {"token", "event", "position_ms", "coverage"}}
MAX_POSITION_MS = 3_600_000


@dataclass(frozen=True)
class Answer:
    trial: int
    preference: str  # "A" or "B"
    ratings: dict[str, int]  # "ID_a" for every question id, then "ID_b" -> a point of its scale


@dataclass(frozen=True)
class PlaybackEvent:
    token: str
    event: str
    position_ms: int
    coverage: float | None  # "ended" only


def _exact_keys(obj: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise UnprocessableEntity(f"{where} must have exactly the fields {sorted(keys)}")
    return obj


def _int(value: Any, lo: int, hi: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UnprocessableEntity(f"{where} must be an integer from {lo} to {hi}")
    return value


def parse_answer(data: dict[str, Any], n_trials: int, questions: list[Question]) -> Answer:
    """An answer with exactly the study's questions, each rated on its own scale for A and B."""
    _exact_keys(data, {"trial", "preference", "ratings"}, "answer")
    trial = _int(data["trial"], 0, max(0, n_trials - 1), "trial")
    if data["preference"] not in ("A", "B"):
        raise UnprocessableEntity("preference must be 'A' or 'B'")
    ratings = _exact_keys(data["ratings"], {"A", "B"}, "ratings")
    flat = {}
    for side in ("A", "B"):
        scores = _exact_keys(ratings[side], {q.id for q in questions}, f"ratings.{side}")
        for q in questions:
            flat[f"{q.id}_{side.lower()}"] = _int(scores[q.id], q.min, q.max, f"ratings.{side}.{q.id}")
    return Answer(trial=trial, preference=data["preference"], ratings=flat)


def parse_playback(data: dict[str, Any]) -> PlaybackEvent:
    """A play/pause event has exactly token, event, position_ms; "ended" also coverage."""
    event = data.get("event")
    if not isinstance(event, str) or event not in EVENTS:
        raise UnprocessableEntity(f"event must be one of {EVENTS}")
    _exact_keys(data, EVENT_FIELDS[event], f"a {event} event")
    token = data["token"]
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise UnprocessableEntity("bad token")
    position = _int(data["position_ms"], 0, MAX_POSITION_MS, "position_ms")
    coverage = None
    if event == "ended":
        coverage = data["coverage"]
        if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0.0 <= coverage <= 1.5:
            raise UnprocessableEntity("coverage must be a number from 0 to 1.5")
        coverage = float(coverage)
    return PlaybackEvent(token=token, event=event, position_ms=position, coverage=coverage)


def parse_headphone(data: dict[str, Any], n_trials: int) -> tuple[int, int]:
    _exact_keys(data, {"trial", "answer"}, "headphone answer")
    return _int(data["trial"], 0, max(0, n_trials - 1), "trial"), _int(data["answer"], 1, 3, "answer")


def parse_platform_id(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not PLATFORM_ID.fullmatch(value):
        raise BadRequest("participant id: 1-128 letters, digits or _ . : @ -")
    return value


def parse_platform_ref(value: str | None, name: str) -> str:
    """The platform's study or attempt id (``STUDY_ID``, ``SESSION_ID``): "" when absent."""
    if value is None or value == "":
        return ""
    if not PLATFORM_REF.fullmatch(value):
        raise BadRequest(f"{name}: 1-64 letters, digits or _ . : @ -")
    return value


def printable(value: str, limit: int) -> str:
    """Free text kept as metadata (the User-Agent): control characters (NUL, newlines...) become
    "?" and the text is cut to ``limit`` characters. It is not an identifier, so it is not refused."""
    return "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
