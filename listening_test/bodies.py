"""The one request-body parser of the study server: every POST body is read here, and nowhere else.

A body is read only up to the configured cap (``MAX_CONTENT_LENGTH``), also when it arrives
chunked (no ``Content-Length``): Werkzeug cuts a chunked body at the cap without an error, and a
cut body that still parsed used to be stored. Then, by route kind:

* JSON (the ``/api/`` routes): ``Content-Type`` exactly ``application/json`` (charset utf-8 or
  none, else 415); strict UTF-8; RFC 8259 only (no NaN/Infinity, no duplicate keys); at most
  ``MAX_JSON_DEPTH`` nested arrays/objects, checked before parsing (Python's parser recurses, and
  a few thousand ``[`` within 8 KiB raised RecursionError, a 500);
* forms (``/consent``, ``/setup``): ``application/x-www-form-urlencoded`` only (multipart 415),
  at most ``MAX_FORM_PARTS`` fields (413: Werkzeug applies that limit to multipart only), each
  field at most once, no field the page does not send (422).

Refusals: 400 malformed, 413 too large, 415 wrong content type, 422 unexpected fields.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from flask import Request, current_app
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnprocessableEntity, UnsupportedMediaType

MAX_JSON_DEPTH = 8  # the deepest real body (an answer's ratings) is 3
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# A JSON string (escapes included, possibly unterminated) or a bracket. Brackets inside strings are
# text; the optional closing quote makes an unterminated string end the scan instead of being
# retried from every later quote (quadratic on a crafted 8 KiB body).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def _cap() -> int:
    return int(current_app.config["MAX_CONTENT_LENGTH"])


def _read_at_most(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream`` (fewer only at its end)."""
    parts, left = [], n
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def body_bytes(req: Request) -> bytes:
    """The raw body, at most the cap; 413 when the client sent more (declared or streamed)."""
    cap = _cap()
    length = req.content_length
    if length is not None:
        if length > cap:
            raise RequestEntityTooLarge()
        return req.get_data(cache=True)  # a stream limited to Content-Length by Werkzeug
    if not req.environ.get("wsgi.input_terminated"):
        return b""  # no length and a server that does not end the stream: Werkzeug's safe empty body
    # Chunked: read the server's stream directly, one byte past the cap, to tell "exactly the cap"
    # from "more than the cap" (Werkzeug's capped stream returns the first cap bytes silently).
    data = _read_at_most(req.environ["wsgi.input"], cap + 1)
    if len(data) > cap:
        raise RequestEntityTooLarge()
    return data


def _require_type(req: Request, wanted: str) -> None:
    if req.mimetype != wanted:
        raise UnsupportedMediaType(f"expected Content-Type {wanted}")
    charset = req.mimetype_params.get("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("expected the charset utf-8")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest("the body is not UTF-8") from e


def json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    for token in _TOKEN.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object(req: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 malformed, 413 too large, 415 not JSON."""
    _require_type(req, JSON_TYPE)
    text = _text(body_bytes(req))
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # RecursionError: defence in depth behind json_depth
        raise BadRequest("malformed JSON") from e
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def form_fields(req: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The url-encoded form as ``{name: value}``; only names in ``allowed``, each at most once."""
    _require_type(req, FORM_TYPE)
    text = _text(body_bytes(req))
    limit = int(current_app.config["MAX_FORM_PARTS"])
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=limit,
                          errors="strict")
    except UnicodeDecodeError as e:  # a %-escape that is not UTF-8
        raise BadRequest("the form is not UTF-8") from e
    except ValueError as e:
        if "Max number of fields" in str(e):
            raise RequestEntityTooLarge(f"more than {limit} form fields") from e
        raise BadRequest("malformed form") from e
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise BadRequest("a form field was sent twice")
    unknown = set(fields) - allowed
    if unknown:
        raise UnprocessableEntity(f"unexpected form fields; this form has only {sorted(allowed)}")
    return fields
