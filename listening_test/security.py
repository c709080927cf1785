"""CSRF checks, per-client rate limits, security headers, pseudonymous ids.

* CSRF: every session has a random token (stored with the session row); every POST must carry it
  in the ``X-CSRF-Token`` header (the JSON API) or the ``csrf_token`` field (the two forms), and a
  present ``Origin`` header must be exactly this server's origin. An ``Origin`` that is not a bare
  ``scheme://host[:port]`` is refused like a foreign one (it used to reach ``urlsplit`` and raise
  a 500). A token of another session is simply a wrong token.
* Rate limits: token buckets in process memory, keyed by participant session (or client IP before
  one exists). With N gunicorn workers a client can get up to N times the limit; that is the
  documented approximation (use a shared store for stricter limits).
* Headers: a strict Content-Security-Policy (no inline script), no referrer (the crowd-platform
  id is in the landing URL), no framing, no sniffing, no caching of pages or audio.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, abort, request, session

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256 hex of ``value``: pseudonymous, stable while the secret key is kept."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def tokens_equal(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


# What a browser sends as Origin: scheme, host, optional port; nothing else (no path, no userinfo).
ORIGIN = re.compile(r"(https?)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


def same_origin(origin: str | None) -> bool:
    """True when ``origin`` is absent, "null" (privacy-sensitive contexts; the CSRF token still
    decides), or exactly this server's host; False for a foreign or unparsable value."""
    if origin is None or origin == "null":
        return True
    m = ORIGIN.fullmatch(origin)
    if m is None:
        return False
    return f"{m.group(2)}{m.group(3) or ''}".lower() == request.host.lower()


def check_csrf(expected: str, form_token: str | None = None) -> None:
    """Abort with 403 unless the request comes from this origin and carries ``expected``: in the
    ``X-CSRF-Token`` header, or for the two forms in their ``csrf_token`` field (``form_token``)."""
    if not same_origin(request.headers.get("Origin")):
        abort(403, description="cross-origin request refused")
    given = request.headers.get("X-CSRF-Token") or form_token
    if not tokens_equal(given, expected):
        abort(403, description="missing or invalid CSRF token")


@dataclass
class RateLimiter:
    """Token buckets: ``per_minute`` requests per key, bursts up to ``burst``."""

    per_minute: float
    burst: float
    max_keys: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * rate)
            ok = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if ok else tokens, now)
            if len(self._buckets) > self.max_keys:  # forget the idlest half; bounded memory
                for k, _ in sorted(self._buckets.items(), key=lambda kv: kv[1][1])[: self.max_keys // 2]:
                    del self._buckets[k]
            return ok


def too_many() -> None:
    abort(Response('{"error": "too many requests, slow down"}', 429, {"Retry-After": "10"},
                   mimetype="application/json"))


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask, requests_per_minute: int, new_sessions_per_hour: int) -> None:
    """Headers on every response; a per-client limit on every request and on new sessions."""
    limiter = RateLimiter(per_minute=requests_per_minute, burst=max(10.0, requests_per_minute / 4))
    app.extensions["rate_limiter"] = limiter
    app.extensions["new_session_limiter"] = RateLimiter(per_minute=new_sessions_per_hour / 60.0,
                                                        burst=float(new_sessions_per_hour))

    @app.before_request
    def _limit() -> None:
        key = session.get("sid") or f"ip:{request.remote_addr}"
        if not limiter.allow(key):
            too_many()

    app.after_request(add_headers)
