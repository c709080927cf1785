"""Machinery of the property-based fuzzing of the study server: Hypothesis profiles, the request
generators (fixture ``hostile``), and a ``Harness`` that sends every generated request (a
``Request`` of ``hostile_requests.py``: method, path, query, headers, body, chunked, ``defects``,
``admin``), counts it per route and checks the invariants after each one:

* never a 5xx (the app runs with ``TESTING``, so an unhandled exception fails the test itself);
* a request the generator marked as defective (forged origin or token, wrong content type, bad
  field, too large, bad identifier...) is not acknowledged (no 2xx) and changes nothing;
* any 4xx changes nothing, except the documented audit row and ended run of a refused playback
  ``ended`` event (409);
* a success changes only the tables its route writes; answers are append-only;
* every acknowledged answer is stored exactly once, with the values sent;
* no response (body or headers) names a system, catch stimulus, item, file or checksum, unless
  the request already contained it, or it is an admin request with the right token.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from listening_test.db import connect, init_db
from listening_test.manifest import CATCH_STIMULI, load_manifest

# Bounded in the normal suite; the slow-marked tests run the larger profile (CI runs both).
# derandomize: the same examples on every run, so CI is deterministic (no example database either).
_COMMON = dict(deadline=None, database=None, derandomize=True, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("lt-fuzz", max_examples=12, stateful_step_count=20, **_COMMON)
settings.register_profile("lt-fuzz-slow", max_examples=70, stateful_step_count=30, **_COMMON)

TABLES = ("sessions", "audio_tokens", "trials", "screening", "judgments", "playback_events")
# Tables a successful (2xx/3xx) request of each route may change; any other route changes none.
WRITES = {
    ("GET", "/"): {"sessions", "audio_tokens", "trials", "screening"},
    ("POST", "/consent"): {"sessions"},
    ("POST", "/setup"): {"sessions"},
    ("GET", "/trial"): {"trials"},
    ("GET", "/done"): {"sessions"},
    ("GET", "/audio/<token>"): {"audio_tokens"},
    ("POST", "/api/playback"): {"audio_tokens", "playback_events"},
    ("POST", "/api/headphone"): {"screening"},
    ("POST", "/api/answer"): {"judgments", "sessions"},
}
KNOWN = ("/", "/consent", "/setup", "/trial", "/done", "/api/playback", "/api/headphone", "/api/answer",
         "/admin/summary", "/admin/export.csv")


def route_of(path: str) -> str:
    """The route template a path hits (for counting and for ``WRITES``)."""
    if path.startswith("/audio/"):
        return "/audio/<token>"
    if path.startswith("/static/"):
        return "/static/<file>"
    return path if path in KNOWN else "<other>"


def study_labels(manifest_path: Path) -> list[str]:
    """Everything that would unblind a participant: names, items, paths, checksums, the folder."""
    m = load_manifest(manifest_path, verify=False)
    labels = {*m.systems, *CATCH_STIMULI, "identical", "offbeat", "transposed", str(m.root), m.calibration.sha256}
    for item in m.items:
        labels.add(item.id)
        for stim in item.stimuli.values():
            labels.update({stim.sha256, str(stim.path.relative_to(m.root))})
    return sorted(labels)


class Harness:
    """Sends requests to one app, a fresh database per Hypothesis example, and checks them."""

    def __init__(self, app: Any, folder: Path, labels: list[str], admin_token: str) -> None:
        self.app, self.folder, self.labels, self.admin_token = app, folder, labels, admin_token
        self.client = app.test_client(use_cookies=False)  # cookies are the generator's business
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.examples = 0
        self.rounds = 0
        self.hostile = 0  # requests drawn by the hostile rule (the rest are honest sequences)
        self.reader: sqlite3.Connection | None = None
        self.acked_new = 0

    def reset(self) -> None:
        """A new, empty database for the next example (the app reopens its connection)."""
        if self.reader is not None:
            self.reader.close()
            Path(self.app.config["DATABASE"]).unlink(missing_ok=True)
        self.examples += 1
        path = self.folder / f"fuzz-{self.examples}.sqlite"
        init_db(path)
        self.app.config["DATABASE"] = str(path)
        self.reader = connect(path)
        self.acked_new = 0

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        assert self.reader is not None
        return self.reader.execute(sql, args).fetchall()

    def snapshot(self) -> dict[str, frozenset[tuple]]:
        return {t: frozenset(tuple(r) for r in self.query(f"SELECT * FROM {t}")) for t in TABLES}

    def named(self, table: str, rows: frozenset[tuple]) -> list[dict[str, Any]]:
        """Snapshot rows of ``table`` as dicts by column name."""
        assert self.reader is not None
        names = [d[0] for d in self.reader.execute(f"SELECT * FROM {table} LIMIT 0").description]
        return [dict(zip(names, r)) for r in rows]

    def send(self, req: Any) -> Any:
        before = self.snapshot()
        headers = dict(req.headers)
        overrides: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1"}
        if req.chunked:  # as gunicorn passes a chunked body: no length, a server-terminated stream
            headers["Transfer-Encoding"] = "chunked"
            overrides["wsgi.input_terminated"] = True
        resp = self.client.open(req.path, method=req.method, query_string=req.query, headers=headers,
                                data=req.body, environ_overrides=overrides)
        route = route_of(req.path)
        self.counts[route] += 1
        self.statuses[(route, resp.status_code)] += 1
        self.check(req, route, resp, before, self.snapshot())
        return resp

    def check(self, req: Any, route: str, resp: Any, before: dict, after: dict) -> None:
        status = resp.status_code
        assert status < 500, f"{status} for {req}"
        changed = {t for t in TABLES if before[t] != after[t]}
        assert before["judgments"] <= after["judgments"], "a stored answer changed or disappeared"
        if req.defects:
            assert not 200 <= status < 300, f"defective request {req.defects} acknowledged: {status} {req}"
            assert not changed, f"defective request {req.defects} changed {changed}: {req}"
            # Pages may redirect a visitor who is elsewhere in the study; the API and the landing
            # page refuse outright.
            if route.startswith("/api/") or route == "/":
                assert 400 <= status < 500, f"defective request {req.defects} got {status}: {req}"
        if status >= 400:
            self._check_refusal(req, route, status, changed, before, after)
        else:
            method = "GET" if req.method == "HEAD" else req.method
            allowed = WRITES.get((method, route), set())
            assert changed <= allowed, f"{req.method} {route} ({status}) changed {changed - allowed}"
        if route == "/api/answer" and req.method == "POST" and status == 200:  # not OPTIONS' empty 200
            self._check_answer(req, resp, before, after)
        assert len(after["judgments"]) == self.acked_new, "judgments stored without an acknowledgement"
        self._check_blinding(req, resp)

    def _check_refusal(self, req: Any, route: str, status: int, changed: set, before: dict, after: dict) -> None:
        if not (route == "/api/playback" and status == 409):
            assert not changed, f"refused ({status}) but changed {changed}: {req}"
            return
        # A refused "ended": one audit row (accepted 0) and the token's run ended, nothing else.
        assert changed <= {"audio_tokens", "playback_events"} and before["playback_events"] <= after["playback_events"]
        new = self.named("playback_events", after["playback_events"] - before["playback_events"])
        assert len(new) == 1 and new[0]["accepted"] == 0 and new[0]["event"] == "ended"
        plays = {r["token"]: r["plays_completed"] for r in self.named("audio_tokens", before["audio_tokens"])}
        assert all(plays[r["token"]] == r["plays_completed"] for r in self.named("audio_tokens", after["audio_tokens"]))

    def _check_answer(self, req: Any, resp: Any, before: dict, after: dict) -> None:
        new = self.named("judgments", after["judgments"] - before["judgments"])
        if resp.json["duplicate"]:
            assert not new, "a repeated answer was stored again"
            return
        assert len(new) == 1, f"an acknowledged answer made {len(new)} rows"
        self.acked_new += 1
        sent = json.loads(req.body)
        want = {f"{a}_{s.lower()}": v for s, r in sent["ratings"].items() for a, v in r.items()}
        row = new[0]
        assert (row["position"], row["preference"]) == (sent["trial"], sent["preference"])
        assert json.loads(row["ratings"]) == want

    def _check_blinding(self, req: Any, resp: Any) -> None:
        if req.admin and resp.status_code == 200:
            return  # the researcher's own pages
        shown = " ".join(f"{k}: {v}" for k, v in resp.headers.items())
        if resp.mimetype != "audio/wav":
            shown += resp.get_data(as_text=True)
        sent = req.text()
        leaked = [label for label in self.labels if label in shown and label not in sent]
        assert not leaked, f"response to {req.method} {req.path} names {leaked}"


@pytest.fixture
def harness(make_app, built_study: Path, tmp_path: Path, clock) -> Harness:
    """A study app with no practical rate limits (they have their own tests) and its harness;
    the server clock is ``clock`` (the generated listeners advance it)."""
    from listening_test.study_file import SecurityConfig

    app = make_app(security=SecurityConfig(requests_per_minute=1_000_000, new_sessions_per_hour=1_000_000))
    return Harness(app, tmp_path, study_labels(built_study / "manifest.json"), app.config["ADMIN_TOKEN"])


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The request generators, ``hostile_requests.py`` of this folder, imported by name."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return importlib.import_module("hostile_requests")
