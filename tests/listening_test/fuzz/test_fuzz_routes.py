"""Property-based fuzzing of every route of the study server (Hypothesis stateful testing).

Two browsers take part in a study (arrive, consent, set up, listen, answer; in any order and
interleaved) while hostile requests (``hostile_requests.py``) are sent against every route, acting
as either browser. The harness (``conftest.py``) checks every response against its invariants.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, rule

from listening_test.study_file import ATTRIBUTES

RATINGS = st.fixed_dictionaries({s: st.fixed_dictionaries({a: st.integers(1, 5) for a in ATTRIBUTES}) for s in "AB"})
PAGE_RE = re.compile(r'<body data-page="([a-z]*)"')
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
TOKEN_RE = re.compile(r'data-token="([^"]+)"')
TRIAL_RE = re.compile(r'data-trial="(\d+)"')
BROWSER = st.integers(0, 1)
PIDS = st.sampled_from([None, "P_one", "P_two", "P_three"])


class StudyFuzz(RuleBasedStateMachine):
    """Two honest browsers on a fresh database, and a hostile client that acts as either."""

    harness: Any = None  # set by the test
    clock: Any = None
    gen: Any = None  # the module hostile_requests.py

    def __init__(self) -> None:
        super().__init__()
        self.h = type(self).harness
        self.h.reset()
        self.browsers = [self.gen.Browser(), self.gen.Browser()]

    def send(self, b: Any, method: str, path: str, **kw: Any) -> Any:
        """An honest request of browser ``b`` (its cookie, its token): kept and followed."""
        headers = dict(kw.pop("headers", {}), **({"Cookie": b.cookie} if b.cookie else {}))
        resp = self.h.send(self.gen.Request(method, path, headers=headers, **kw))
        cookie = resp.headers.get("Set-Cookie")
        if cookie:
            b.cookie = cookie.split(";", 1)[0]
        return resp

    def look(self, b: Any, query: list | None = None) -> None:
        """Open the study (the landing page redirects to the current step) and read the page."""
        resp = self.send(b, "GET", "/", query=query or [])
        if resp.status_code != 302:
            return
        page = self.send(b, "GET", resp.headers["Location"]).get_data(as_text=True)
        page_m, csrf_m, trial_m = PAGE_RE.search(page), CSRF_RE.search(page), TRIAL_RE.search(page)
        b.page = page_m.group(1) if page_m else ""
        b.csrf = csrf_m.group(1) if csrf_m else b.csrf
        b.tokens = TOKEN_RE.findall(page)
        b.trial = int(trial_m.group(1)) if trial_m else 0

    def post_json(self, b: Any, path: str, body: dict) -> Any:
        return self.send(b, "POST", path, body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", "X-CSRF-Token": b.csrf})

    def listen(self, b: Any, token: str) -> None:
        """Fetch, play from the start, wait the clip's duration, report the end."""
        duration = self.h.query("SELECT duration_ms FROM audio_tokens WHERE token = ?", (token,))
        ms = duration[0][0] if duration else 1000
        self.send(b, "GET", f"/audio/{token}")
        self.post_json(b, "/api/playback", {"token": token, "event": "play", "position_ms": 0})
        type(self).clock.advance(ms + 20)
        self.post_json(b, "/api/playback", {"token": token, "event": "ended", "position_ms": ms, "coverage": 1.0})

    @rule(i=BROWSER, pid=PIDS)
    def arrive(self, i: int, pid: str | None) -> None:
        b = self.browsers[i]
        if pid is None:
            b.cookie = ""  # a new anonymous visitor in this browser
        self.look(b, [("PROLIFIC_PID", pid)] if pid else [])

    def form(self, b: Any, path: str, fields: dict[str, str]) -> None:
        self.send(b, "POST", path, body=urlencode(fields).encode(),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})

    def setup_page(self, b: Any, answers: list[int]) -> None:
        """Volume clip, then each headphone clip and its answer, then "start"."""
        for k, token in enumerate(b.tokens):
            self.listen(b, token)
            if k:
                self.post_json(b, "/api/headphone", {"trial": k - 1, "answer": answers[(k - 1) % len(answers)]})
        self.form(b, "/setup", {"csrf_token": b.csrf})

    @rule(i=BROWSER, steps=st.integers(1, 2), answers=st.lists(st.integers(1, 3), min_size=1, max_size=2),
          preference=st.sampled_from("AB"), ratings=RATINGS)
    def progress(self, i: int, steps: int, answers: list[int], preference: str, ratings: dict) -> None:
        """What an honest participant does next on the page they are on, ``steps`` times."""
        b = self.browsers[i]
        for _ in range(steps):
            if b.page == "consent":
                self.form(b, "/consent", {"csrf_token": b.csrf, "agree": "yes"})
            elif b.page == "setup":
                self.setup_page(b, answers)
            elif b.page == "trial":
                for token in b.tokens:
                    self.listen(b, token)
                self.post_json(b, "/api/answer", {"trial": b.trial, "preference": preference, "ratings": ratings})
            self.look(b)

    @rule(i=BROWSER, side=st.integers(0, 1))
    def listen_one(self, i: int, side: int) -> None:
        b = self.browsers[i]
        if b.tokens:
            self.listen(b, b.tokens[side % len(b.tokens)])

    @rule(ms=st.integers(0, 5000))
    def tick(self, ms: int) -> None:
        type(self).clock.advance(ms)

    def attack(self, i: int, n: int, data: st.DataObject, kinds: tuple[str, ...]) -> None:
        """``n`` generated requests acting as (or against) browser ``i``, each of one of ``kinds``
        (names in ``hostile_requests.KINDS``)."""
        own, other = self.browsers[i], self.browsers[1 - i]
        request = st.one_of(*(self.gen.KINDS[kind](own, other, self.h.admin_token) for kind in kinds))
        for _ in range(n):
            self.h.send(data.draw(request))
            self.h.hostile += 1

    # Three rules rather than one, so that hostile requests are about as frequent as honest ones.
    @rule(i=BROWSER, n=st.integers(1, 12), data=st.data())
    def hostile_api(self, i: int, n: int, data: st.DataObject) -> None:
        self.attack(i, n, data, ("api",))

    @rule(i=BROWSER, n=st.integers(1, 12), data=st.data())
    def hostile_forms_and_landing(self, i: int, n: int, data: st.DataObject) -> None:
        self.attack(i, n, data, ("form", "landing"))

    @rule(i=BROWSER, n=st.integers(1, 12), data=st.data())
    def hostile_pages_admin_odd(self, i: int, n: int, data: st.DataObject) -> None:
        self.attack(i, n, data, ("page", "admin", "odd"))

    @rule(i=BROWSER)
    def replay_last_answer(self, i: int) -> None:
        """The page's retry after a lost reply: the same answer again is acknowledged, not stored twice."""
        b = self.browsers[i]
        rows = self.h.query("SELECT * FROM judgments ORDER BY answered_ms DESC LIMIT 1")
        if b.csrf and rows:
            self.post_json(b, "/api/answer", posted_answer(rows[0]))


def posted_answer(row: Any) -> dict:
    """The answer body that stored the judgment ``row`` (its ratings are one JSON object)."""
    stored = json.loads(row["ratings"])
    ratings = {s: {a: stored[f"{a}_{s.lower()}"] for a in ATTRIBUTES} for s in "AB"}
    return {"trial": row["position"], "preference": row["preference"], "ratings": ratings}


def run_fuzz(harness: Any, clock: Any, hostile: Any, profile: str, floors: tuple[int, int],
             max_rounds: int = 4) -> None:
    """Rounds of the state machine, round ``k`` under Hypothesis seed ``k``, until the ``floors``
    (requests, hostile requests) were reached or ``max_rounds`` ran.

    Why rounds: how many steps Hypothesis runs per example varied with what ran before in the
    pytest session (the normal test sent 1,083 requests alone and 730 in CI's full suite on
    2026-11-28), so one derandomized run cannot promise a floor; a fixed seed per round keeps every
    round reproducible from its seed.
    """
    StudyFuzz.harness, StudyFuzz.clock, StudyFuzz.gen = harness, clock, hostile
    for k in range(max_rounds):
        seed(k)(get_state_machine_test(StudyFuzz, settings=settings(settings.get_profile(profile))))()
        harness.rounds = k + 1
        if sum(harness.counts.values()) >= floors[0] and harness.hostile >= floors[1]:
            return


def check_coverage(harness: Any, min_requests: int, min_hostile: int) -> None:
    """The run reached every route and the whole participant path, with enough requests.

    How requests are counted: ``Harness.send`` counts every request it sends to the app, per route
    (``harness.counts``): the hostile ones drawn by the ``hostile_*`` rules (``harness.hostile``)
    and the honest sequences' own (the rules draw which browser acts, when, and with which
    answers). Each round is seeded (``run_fuzz``); a round of the normal profile sent 730-1,083
    requests (302-615 hostile) depending on what ran before it, a round of the slow one 8,362
    (2,895 hostile), on 2026-11-28. The floors are reached in one or two rounds; missing them after
    ``max_rounds`` means the rules stopped sending requests.
    """
    routes = {"/", "/consent", "/setup", "/trial", "/done", "/audio/<token>", "/api/playback", "/api/headphone",
              "/api/answer", "/admin/summary", "/admin/export.csv", "/static/<file>", "<other>"}
    total = sum(harness.counts.values())
    print(f"\nfuzzed {total} requests ({harness.hostile} hostile, {total - harness.hostile} in generated honest "
          f"sequences) over {harness.examples} examples in {harness.rounds} round(s); answers acknowledged: "
          f"{harness.statuses[('/api/answer', 200)]}; by route: {dict(sorted(harness.counts.items()))}")
    assert routes <= set(harness.counts), f"routes never fuzzed: {routes - set(harness.counts)}"
    assert total >= min_requests and harness.hostile >= min_hostile, (
        f"{total} requests ({harness.hostile} hostile): fewer than {min_requests} ({min_hostile})")
    assert harness.statuses[("/api/answer", 200)] > 0, "no answer was ever acknowledged"


def test_fuzzed_requests_keep_every_invariant(harness, clock, hostile):
    run_fuzz(harness, clock, hostile, "lt-fuzz", floors=(1000, 250))
    check_coverage(harness, min_requests=1000, min_hostile=250)


@pytest.mark.slow
def test_fuzzed_requests_keep_every_invariant_long_run(harness, clock, hostile):
    run_fuzz(harness, clock, hostile, "lt-fuzz-slow", floors=(6000, 1000))
    check_coverage(harness, min_requests=6000, min_hostile=1000)
