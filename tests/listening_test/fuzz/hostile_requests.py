"""Generators of hostile requests to the study server, for ``test_fuzz_routes.py`` (loaded by the
``hostile`` fixture of ``conftest.py``).

Each generator draws one ``Request`` against every route: any method, path, query, ``Host``,
``Origin``, ``Content-Type``, CSRF token, cookie (own, the other browser's, tampered, none),
``Authorization``, chunked or not, and bodies from valid through mutated, deeply nested, not UTF-8
or with duplicated keys, to over the size cap. It records in ``Request.defects`` what makes the
request defective, so the harness can check that nothing of it was acknowledged or stored.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from listening_test.study_file import ATTRIBUTES

CAP = 8192  # the study's max_body_bytes
MAX_FORM_PARTS = 20
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
URL_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"), max_size=30)
IDENT = r"[A-Za-z0-9_.:@\-]"  # the documented whitelist of platform identifiers
BAD_IDENT = ["X\n", "a b", "<script>", "é", "a\x00b", "x" * 129, "../x", "a;b", "%0A"]
ORIGINS_OK = [None, "null", "http://localhost", "https://localhost"]
ORIGINS_BAD = ["https://evil.example", "http://localhost.evil.example", "http://[::1", "http://[", "://",
               "http://localhost:99999999", "http://localhost/path", "http://u@localhost", "javascript:alert(1)"]
JSON_OK = ["application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8"]
FORM_OK = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"]
# Host headers other than the server's: forged, unparsable (Werkzeug reads those as "") or empty.
HOSTS_ODD = ["evil.example", "localhost.evil.example", "[::1", "a b", "localhost:99999", "", "localhost/x"]
TYPES_BAD = [None, "text/plain", "multipart/form-data; boundary=x", "application/vnd.api+json",
             "application/json; charset=latin-1", "application/x-www-form-urlencoded; charset=latin-1"]
# Values that make a field invalid, per field of the JSON API.
BAD_VALUES: dict[str, list[Any]] = {
    "trial": [-1, 10_000, "0", 0.5, True, None, [], {}, 2**70],
    "preference": ["C", "a", "", None, 1, ["A"], "AB"],
    "rating": [0, 6, -1, 3.5, "4", True, None, [], {}, 10**30],
    "token": ["", "short", "x" * 65, "a b", "../etc/passwd", 123, None, "A" * 22 + "\n"],
    "event": ["seek", "", None, 1, "PLAY", "ended "],
    "position_ms": [-1, 3_600_001, 1.5, "0", True, None],
    "coverage": [-0.1, 1.6, "1", True, None, [1.0]],
    "answer": [0, 4, "1", True, None, 1.0],
}


@dataclass
class Request:
    """One generated request; ``defects`` name what makes it invalid (empty: nothing known)."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    defects: tuple[str, ...] = ()
    admin: bool = False

    def text(self) -> str:
        return " ".join([self.path, repr(self.query), repr(self.headers), self.body.decode("latin-1")])


@dataclass
class Browser:
    """What a participant's page knows: cookie, CSRF token, the page and its audio tokens."""

    cookie: str = ""
    csrf: str = ""
    page: str = ""
    tokens: list[str] = field(default_factory=list)
    trial: int = 0


def odd_host(draw: Any, headers: dict[str, str]) -> dict[str, str]:
    """``headers``, about one time in six with a Host header of the generator's own."""
    if draw(st.integers(0, 5)) == 0:
        headers["Host"] = draw(st.sampled_from(HOSTS_ODD) | HEADER_TEXT)
    return headers


def pick(draw: Any, good: list, bad: list, defect: str, defects: list[str], p_bad: float = 0.25) -> Any:
    """A good value, or (about ``p_bad`` of the time) a bad one, noting ``defect``."""
    if draw(st.floats(0, 1)) < p_bad:
        defects.append(defect)
        return draw(st.sampled_from(bad))
    return draw(st.sampled_from(good))


def tampered(draw: Any, cookie: str) -> str:
    """``cookie`` with one character of its payload or signature changed (never the last one of
    a base64 segment: its unused low bits could leave the decoded bytes, and the signature, intact)."""
    name, _, value = cookie.partition("=")
    parts = value.split(".")
    seg = max(range(len(parts)), key=lambda i: len(parts[i]))
    k = draw(st.integers(0, len(parts[seg]) - 2))
    parts[seg] = parts[seg][:k] + ("A" if parts[seg][k] != "A" else "B") + parts[seg][k + 1:]
    return f"{name}={'.'.join(parts)}"


def identity(draw: Any, own: Browser, other: Browser, defects: list[str]) -> tuple[Browser | None, dict]:
    """Cookie, CSRF header and Origin of a state-changing request; the browser it acts as."""
    choice = draw(st.sampled_from(["own", "own", "own", "other", "none", "tampered"]))
    acting = {"own": own, "other": other}.get(choice)
    headers: dict[str, str] = {}
    cookie = acting.cookie if acting else (tampered(draw, own.cookie) if choice == "tampered" and own.cookie else "")
    if cookie:
        headers["Cookie"] = cookie
    if not (acting and acting.cookie):
        defects.append("no session")
    token = draw(st.sampled_from([own.csrf, own.csrf, other.csrf, "", "x" * 22]) | HEADER_TEXT)
    if not (acting and token == acting.csrf and token):
        defects.append("csrf")
    if token:
        headers["X-CSRF-Token"] = token
    origin = pick(draw, ORIGINS_OK, ORIGINS_BAD + [draw(HEADER_TEXT)], "origin", defects, 0.15)
    if origin is not None:
        headers["Origin"] = origin
    return acting, headers


def json_body(draw: Any, path: str, b: Browser | None, defects: list[str]) -> Any:
    """A body for ``path``, valid for browser ``b`` or with one known-bad field."""
    tok = draw(st.sampled_from(b.tokens)) if b and b.tokens else "A" * 22
    if path == "/api/answer":
        body: dict[str, Any] = {"trial": b.trial if b else 0, "preference": draw(st.sampled_from("AB")),
                                "ratings": {s: {a: draw(st.integers(1, 5)) for a in ATTRIBUTES} for s in "AB"}}
    elif path == "/api/headphone":
        body = {"trial": draw(st.integers(0, 1)), "answer": draw(st.integers(1, 3))}
    else:
        event = draw(st.sampled_from(["play", "pause", "ended"]))
        body = {"token": tok, "event": event, "position_ms": draw(st.sampled_from([0, 500, 1000]))}
        if event == "ended":
            body["coverage"] = draw(st.sampled_from([1.0, 0.97, 0.5]))
    how = draw(st.sampled_from(["keep", "keep", "keep", "drop", "extra", "bad"]))
    if how == "drop":
        del body[draw(st.sampled_from(sorted(body)))]
    elif how == "extra":
        body[draw(st.sampled_from([k for k in ("x", "admin", "plays", "coverage", "trial") if k not in body]))] = 1
    elif how == "bad":
        key = draw(st.sampled_from(sorted(body)))
        if key == "ratings":
            body[key]["AB"[draw(st.integers(0, 1))]][draw(st.sampled_from(ATTRIBUTES))] = draw(
                st.sampled_from(BAD_VALUES["rating"]))
        else:
            body[key] = draw(st.sampled_from(BAD_VALUES[key]))
    if how != "keep":
        defects.append("body")
    return body


def encode_json(draw: Any, body: Any, defects: list[str]) -> bytes:
    """``body`` as JSON, or broken in one of the ways that must give 400."""
    text = json.dumps(body)
    how = draw(st.sampled_from(["plain"] * 6 + ["deep", "dupkey", "latin1", "nan", "trailing", "array", "empty"]))
    if how != "plain":
        defects.append("malformed")
    if how == "deep":
        n = draw(st.integers(9, 4000))
        text = '{"trial": ' + "[" * n + "]" * n + "}"
    elif how == "dupkey":
        text = "{" + text[1:-1] + ", " + text[1:-1] + "}" if len(text) > 2 else '{"a": 1, "a": 1}'
    elif how == "latin1":
        return text.encode() + b' \xff'
    elif how == "nan":
        text = text[:-1] + (', "n": NaN}' if len(text) > 2 else '"n": NaN}')
    elif how == "trailing":
        text += "x"
    elif how == "array":
        text = json.dumps([body])
    elif how == "empty":
        text = ""
    return text.encode()


def padded(draw: Any, data: bytes, defects: list[str]) -> bytes:
    """Sometimes pad with spaces past the cap (still valid JSON or form, were it cut at the cap)."""
    if draw(st.integers(0, 9)) == 0:
        defects.append("too large")
        return data + b" " * (CAP + 1 - len(data) + draw(st.integers(0, 4000)))
    return data


@st.composite
def api_post(draw: Any, own: Browser, other: Browser) -> Request:
    defects: list[str] = []
    path = draw(st.sampled_from(["/api/answer", "/api/playback", "/api/headphone"]))
    acting, headers = identity(draw, own, other, defects)
    ctype = pick(draw, JSON_OK, TYPES_BAD + [draw(HEADER_TEXT)], "content type", defects, 0.15)
    if ctype is not None:
        headers["Content-Type"] = ctype
    body = padded(draw, encode_json(draw, json_body(draw, path, acting, defects), defects), defects)
    return Request("POST", path, headers=headers, body=body, chunked=draw(st.booleans()), defects=tuple(defects))


@st.composite
def form_post(draw: Any, own: Browser, other: Browser) -> Request:
    defects: list[str] = []
    path = draw(st.sampled_from(["/consent", "/setup"]))
    acting, headers = identity(draw, own, other, defects)
    token = headers.pop("X-CSRF-Token", "")  # forms carry it as a field
    fields = [("csrf_token", token)] + ([("agree", "yes")] if path == "/consent" else [])
    how = draw(st.sampled_from(["keep"] * 5 + ["extra", "many", "twice", "no-agree", "raw"]))
    if how == "extra":
        fields.append((draw(st.sampled_from(["admin", "next", "x"])), "1"))
    elif how == "many":
        fields += [(f"f{k}", "1") for k in range(MAX_FORM_PARTS)]
    elif how == "twice":
        fields.append(("csrf_token", token))
    elif how == "no-agree":
        fields = fields[:1]
    data = ("csrf_token" + draw(st.sampled_from(["", "=%ZZ", "=%FF", "&&"]))) if how == "raw" else urlencode(fields)
    if how != "keep" and not (how == "no-agree" and path == "/setup"):
        defects.append("form")
    ctype = pick(draw, FORM_OK, TYPES_BAD + ["application/json"], "content type", defects, 0.15)
    if ctype is not None:
        headers["Content-Type"] = ctype
    return Request("POST", path, headers=headers, body=padded(draw, data.encode(), defects),
                   chunked=draw(st.booleans()), defects=tuple(defects))


def ident(draw: Any, name: str, size: int, defects: list[str]) -> list[tuple[str, str]]:
    how = draw(st.sampled_from(["absent", "ok", "ok", "bad"]))
    if how == "absent":
        return []
    if how == "bad":
        defects.append(name)
        value = draw(st.sampled_from(BAD_IDENT + ["y" * (size + 1)]) | ANY_TEXT.filter(
            lambda v: v != "" and not re.fullmatch(f"{IDENT}{{1,{size}}}", v)))
        return [(name, value)]
    return [(name, draw(st.from_regex(f"{IDENT}{{1,{size}}}", fullmatch=True)))]


@st.composite
def landing(draw: Any, own: Browser, other: Browser) -> Request:
    """GET / with platform ids, valid or not, in any cookie state."""
    defects: list[str] = []
    query = ident(draw, "PROLIFIC_PID", 128, defects) + ident(draw, "STUDY_ID", 64, defects)
    query += ident(draw, "SESSION_ID", 64, defects) + draw(st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=2))
    who = draw(st.sampled_from([own, other, None]))
    headers = {"Cookie": who.cookie} if who and who.cookie else {}
    headers["User-Agent"] = draw(HEADER_TEXT)
    return Request("GET", "/", query=query, headers=odd_host(draw, headers), defects=tuple(defects))


@st.composite
def page_or_audio(draw: Any, own: Browser, other: Browser) -> Request:
    """A page, an audio token (own, the other's, made up) or a static file, in any cookie state."""
    tokens = own.tokens + other.tokens + ["A" * 22, "..%2F..%2Fmanifest.json", "calibration.wav"]
    path = draw(st.sampled_from(["/consent", "/setup", "/trial", "/done", "/static/study.js", "/static/style.css"])
                | st.sampled_from(tokens).map(lambda t: f"/audio/{t}"))
    method = draw(st.sampled_from(["GET", "GET", "HEAD"]))
    who = draw(st.sampled_from([own, other, None]))
    return Request(method, path, headers=odd_host(draw, {"Cookie": who.cookie} if who and who.cookie else {}))


@st.composite
def admin(draw: Any, token: str) -> Request:
    path = draw(st.sampled_from(["/admin/summary", "/admin/export.csv"]))
    basic = base64.b64encode(f"x:{token}".encode()).decode()
    good = [f"Bearer {token}", f"Basic {basic}"]
    bad = [None, "Bearer ", f"Bearer {token[:-1]}", "Basic !!!", "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
           f"bearer {token}", draw(HEADER_TEXT)]
    defects: list[str] = []
    auth = pick(draw, good, bad, "admin token", defects, 0.5)
    return Request("GET", path, headers={"Authorization": auth} if auth else {}, defects=tuple(defects),
                   admin=not defects)


@st.composite
def odd(draw: Any, own: Browser) -> Request:
    """Wrong methods on known routes, unknown paths, traversal attempts; never with a CSRF token,
    so no POST may change anything either."""
    known = ["/", "/consent", "/setup", "/trial", "/done", "/api/answer", "/api/playback", "/api/headphone",
             "/admin/summary", "/audio/" + (own.tokens[0] if own.tokens else "A" * 22)]
    path = draw(st.sampled_from(known + ["/static/../schema.sql", "/api/answer/", "//admin/summary", "/audio/",
                                         "/api", "/.secret_key", "/nope"]) | URL_TEXT.map(lambda t: "/" + t))
    method = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "POST", "GET"]))
    headers = odd_host(draw, {"Cookie": own.cookie} if own.cookie else {})
    defects = () if method in ("GET", "OPTIONS") else ("method or no token",)
    return Request(method, path, headers=headers, body=draw(st.binary(max_size=64)), defects=defects)


# Each kind of hostile request, as a strategy for a client acting as (or against) ``own``.
KINDS = {
    "api": lambda own, other, admin_token: api_post(own, other),
    "form": lambda own, other, admin_token: form_post(own, other),
    "landing": lambda own, other, admin_token: landing(own, other),
    "page": lambda own, other, admin_token: page_or_audio(own, other),
    "admin": lambda own, other, admin_token: admin(admin_token),
    "odd": lambda own, other, admin_token: odd(own),
}
