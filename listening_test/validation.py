"""Strict parsing of everything a participant's browser sends. Anything unexpected is refused
with 400 (not JSON / not an object) or 422 (well-formed but invalid); nothing is coerced."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Request
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from .config import ATTRIBUTES

PLATFORM_ID = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")
TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
EVENTS = ("play", "pause", "ended")
MAX_POSITION_MS = 3_600_000


@dataclass(frozen=True)
class Answer:
    trial: int
    preference: str  # "A" or "B"
    ratings: dict[str, int]  # "rhythm_a", ..., "coherence_b" -> 1..5


@dataclass(frozen=True)
class PlaybackEvent:
    token: str
    event: str
    position_ms: int
    coverage: float | None


def json_object(req: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 for anything else."""
    if not req.is_json:
        raise BadRequest("expected application/json")
    try:
        data = json.loads(req.get_data(cache=False, as_text=True))
    except ValueError as e:
        raise BadRequest("malformed JSON") from e
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def _exact_keys(obj: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise UnprocessableEntity(f"{where} must have exactly the fields {sorted(keys)}")
    return obj


def _int(value: Any, lo: int, hi: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UnprocessableEntity(f"{where} must be an integer from {lo} to {hi}")
    return value


def parse_answer(data: dict[str, Any], n_trials: int) -> Answer:
    _exact_keys(data, {"trial", "preference", "ratings"}, "answer")
    trial = _int(data["trial"], 0, max(0, n_trials - 1), "trial")
    if data["preference"] not in ("A", "B"):
        raise UnprocessableEntity("preference must be 'A' or 'B'")
    ratings = _exact_keys(data["ratings"], {"A", "B"}, "ratings")
    flat = {}
    for side in ("A", "B"):
        scores = _exact_keys(ratings[side], set(ATTRIBUTES), f"ratings.{side}")
        for attr in ATTRIBUTES:
            flat[f"{attr}_{side.lower()}"] = _int(scores[attr], 1, 5, f"ratings.{side}.{attr}")
    return Answer(trial=trial, preference=data["preference"], ratings=flat)


def parse_playback(data: dict[str, Any]) -> PlaybackEvent:
    if not {"token", "event"} <= set(data) <= {"token", "event", "position_ms", "coverage"}:
        raise UnprocessableEntity("playback event needs token and event (position_ms, coverage optional)")
    token = data["token"]
    if not isinstance(token, str) or not TOKEN.match(token):
        raise UnprocessableEntity("bad token")
    if data["event"] not in EVENTS:
        raise UnprocessableEntity(f"event must be one of {EVENTS}")
    position = _int(data.get("position_ms", 0), 0, MAX_POSITION_MS, "position_ms")
    coverage = data.get("coverage")
    if coverage is not None and (isinstance(coverage, bool) or not isinstance(coverage, (int, float))
                                 or not 0.0 <= coverage <= 1.5):
        raise UnprocessableEntity("coverage must be a number from 0 to 1.5")
    return PlaybackEvent(token=token, event=data["event"], position_ms=position,
                         coverage=None if coverage is None else float(coverage))


def parse_headphone(data: dict[str, Any], n_trials: int) -> tuple[int, int]:
    _exact_keys(data, {"trial", "answer"}, "headphone answer")
    return _int(data["trial"], 0, max(0, n_trials - 1), "trial"), _int(data["answer"], 1, 3, "answer")


def parse_platform_id(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not PLATFORM_ID.match(value):
        raise BadRequest("participant id: 1-128 letters, digits or _ . : @ -")
    return value
