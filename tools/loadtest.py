"""Load and fault benchmark of the study server (loopback only, bounded to a few minutes).

    python -m tools.loadtest [--participants 200] [--workers 2] [--threads 8]

1. Builds a small synthetic study (``--clip-seconds`` clips) in a temporary folder.
2. Starts ``gunicorn "listening_test:create_app()"`` (gthread workers) on 127.0.0.1.
3. Runs N simulated participants, one thread each, through the whole flow over real HTTP:
   landing, consent, volume clip, headphone check, every trial (fetch both clips, play events,
   wait the clip's real duration: the server verifies it, think time, answer). Latency of every
   request is recorded.
4. At ``--kill-at`` seconds it kills the whole gunicorn process group with SIGKILL, opens the
   database and checks that every answer acknowledged (HTTP 200) before the kill is stored with
   the same values, restarts gunicorn, and lets the participants carry on (they retry, as the
   page does; the server's idempotency makes retries safe).
5. At the end every acknowledged answer is checked again, plus ``PRAGMA integrity_check``.

Writes ``results/perf/server.json``: ``concurrency``, ``requests_per_s``, ``p50_ms``, ``p99_ms``
(steady phase before the kill), the same over the whole run, ``acknowledged``,
``lost_acknowledged``, ``machine`` and ``date``.

Pacing: by default participants behave like real ones, only faster (8 s clips, 4 s to answer;
real studies use ~10 s clips and take longer to rate). ``--clip-seconds 2 --think-seconds 1
--items 4 --ramp-seconds 5 --kill-at 20`` is a stress setting with about five times the request
rate and every participant arriving within 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from hafm.fileio import atomic_write_json, atomic_write_text
from listening_test.db import connect, init_db
from listening_test.demo import write_synthetic_source
from listening_test.security import keyed_hash
from listening_test.stimulus_builder import BuildOptions, build_stimuli
from listening_test.study_file import (
    CatchConfig,
    ScreeningConfig,
    SecurityConfig,
    StudyConfig,
    study_to_toml,
)

SECRET = "loadtest-secret-key"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
TOKEN_RE = re.compile(r'data-token="([^"]+)"')
TRIAL_RE = re.compile(r'data-trial="(\d+)"')


class ServerDown(Exception):
    """The connection failed: the server is being killed or restarted."""


@dataclass
class Metrics:
    t0: float = field(default_factory=time.perf_counter)
    samples: list[tuple[float, float, int, str]] = field(default_factory=list)  # (start s, latency ms, status, route)
    acked: dict[tuple[str, int], tuple[float, dict]] = field(default_factory=dict)  # (pid, trial) -> (t, answer)
    failures: list[str] = field(default_factory=list)
    connection_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One participant's browser: a keep-alive HTTP connection and the session cookie."""

    def __init__(self, port: int, metrics: Metrics) -> None:
        self.port, self.metrics = port, metrics
        self.conn: http.client.HTTPConnection | None = None
        self.cookie = ""
        self.csrf = ""

    def request(self, method: str, path: str, body: dict | None = None, form: dict | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = urlencode(form), "application/x-www-form-urlencoded"
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        start = time.perf_counter()
        for attempt in (0, 1):  # like a browser: a reused keep-alive connection may have been closed
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if reused and attempt == 0:
                    start = time.perf_counter()
                    continue
                with self.metrics.lock:
                    self.metrics.connection_errors += 1
                raise ServerDown(str(e)) from e
        latency = (time.perf_counter() - start) * 1000
        route = f"{method} /{path.lstrip('/').split('/')[0].split('?')[0]}"
        if route == "POST /api":
            route = f"POST {path}"
        self.metrics.samples.append((start - self.metrics.t0, latency, resp.status, route))
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return resp.status, resp.getheader("Location", ""), payload.decode("utf-8", "replace")


def retrying(fn, deadline: float, *args):
    """Call ``fn`` until the server answers (it may be down for a restart)."""
    while True:
        try:
            return fn(*args)
        except ServerDown:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


class Participant:
    def __init__(self, pid: str, port: int, metrics: Metrics, clip_ms: dict[str, int], think_s: float,
                 deadline: float, rng: random.Random) -> None:
        self.pid, self.metrics, self.clip_ms = pid, metrics, clip_ms
        self.think_s, self.deadline, self.rng = think_s, deadline, rng
        self.client = Client(port, metrics)

    def page(self, path: str) -> str:
        status, location, text = self.client.request("GET", path)
        while status == 302:
            status, location, text = self.client.request("GET", location)
        m = CSRF_RE.search(text)
        if m:
            self.client.csrf = m.group(1)
        return text

    def listen(self, token: str, kind: str) -> None:
        """Fetch, play, wait the real duration, report the end; again if the server refused."""
        while True:
            self.client.request("GET", f"/audio/{token}")
            self.client.request("POST", "/api/playback", {"token": token, "event": "play", "position_ms": 0})
            time.sleep(self.clip_ms[kind] / 1000 + 0.05)
            status, _, _ = self.client.request("POST", "/api/playback", {
                "token": token, "event": "ended", "position_ms": self.clip_ms[kind], "coverage": 1.0})
            if status == 200:
                return

    def choose(self, trial: int) -> dict:
        return {"trial": trial, "preference": self.rng.choice("AB"),
                "ratings": {s: {a: self.rng.randint(1, 5) for a in ("rhythm", "harmony", "coherence")}
                            for s in ("A", "B")}}

    def answer(self, ans: dict) -> None:
        """Post one answer. A retry after a lost reply posts the same answer, as the page does:
        the server acknowledges an identical repeat and refuses a different one."""
        status, _, text = self.client.request("POST", "/api/answer", ans)
        if status != 200:
            raise RuntimeError(f"{self.pid}: answer {ans['trial']} got {status}: {text[:200]}")
        with self.metrics.lock:
            self.metrics.acked[(self.pid, ans["trial"])] = (time.perf_counter() - self.metrics.t0, ans)

    def run(self) -> None:
        d = self.deadline
        retrying(self.page, d, "/?" + urlencode({"PROLIFIC_PID": self.pid}))
        retrying(self.client.request, d, "POST", "/consent", None, {"csrf_token": self.client.csrf, "agree": "yes"})
        tokens = TOKEN_RE.findall(retrying(self.page, d, "/setup"))
        if tokens:
            retrying(self.listen, d, tokens[0], "calibration")
            for k, tok in enumerate(tokens[1:]):
                retrying(self.listen, d, tok, "headphone")
                retrying(self.client.request, d, "POST", "/api/headphone", {"trial": k, "answer": 1})
            retrying(self.client.request, d, "POST", "/setup", None, {"csrf_token": self.client.csrf})
        while time.time() < d:
            text = retrying(self.page, d, "/trial")
            m = TRIAL_RE.search(text)
            if m is None:  # the final page
                return
            for tok in TOKEN_RE.findall(text):
                retrying(self.listen, d, tok, "trial")
            time.sleep(self.think_s)
            retrying(self.answer, d, self.choose(int(m.group(1))))
        raise RuntimeError(f"{self.pid}: deadline reached")


def run_participant(p: Participant, delay: float) -> None:
    time.sleep(delay)
    try:
        p.run()
    except Exception as e:  # noqa: BLE001 - recorded and reported, the benchmark goes on
        with p.metrics.lock:
            p.metrics.failures.append(f"{p.pid}: {e!r}")


def make_study(folder: Path, clip_s: float, items: int) -> tuple[Path, dict[str, int]]:
    src = write_synthetic_source(folder / "source", items=items, seconds=clip_s, seed=0)
    build_stimuli(src, folder / "study", BuildOptions(max_seconds=clip_s))
    screening = ScreeningConfig(headphone_trials=1, pass_threshold=1, tone_s=0.2, gap_s=0.1)
    study = StudyConfig(study_id="loadtest", catch=CatchConfig(), screening=screening,
                        security=SecurityConfig(requests_per_minute=6000, new_sessions_per_hour=1_000_000))
    study.pairs = [("three_stage", "ground_truth"), ("three_stage", "random"), ("two_stage", "three_stage")]
    atomic_write_text(folder / "study" / "study.toml", study_to_toml(study))
    init_db(folder / "study" / study.database)
    clip_ms = {"trial": round(clip_s * 1000), "calibration": round(clip_s * 1000),
               "headphone": round((3 * screening.tone_s + 3 * screening.gap_s) * 1000)}
    return folder / "study" / "study.toml", clip_ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(study: Path, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, LISTENING_TEST_STUDY=str(study), LISTENING_TEST_SECRET_KEY=SECRET, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--threads", str(threads), "--worker-class", "gthread", "--log-level", "warning",
           "listening_test:create_app()"]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):  # ready = a worker answers, not merely the port being bound
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/static/style.css")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except (OSError, http.client.HTTPException):
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start within 30 s")


def lost_answers(db_path: Path, acked: dict[tuple[str, int], tuple[float, dict]], before: float) -> list:
    """Acknowledged (before time ``before``) answers that are missing or differ in the database."""
    db = connect(db_path)
    try:
        lost = []
        for (pid, trial), (t, ans) in acked.items():
            if t > before:
                continue
            row = db.execute(
                "SELECT j.* FROM judgments j JOIN sessions s ON s.session_id = j.session_id"
                " WHERE s.platform_id_hash = ? AND j.position = ?",
                (keyed_hash(SECRET, f"loadtest:{pid}"), trial)).fetchone()
            want = {f"{a}_{s.lower()}": v for s, r in ans["ratings"].items() for a, v in r.items()}
            if row is None or (row["preference"], json.loads(row["ratings"])) != (ans["preference"], want):
                lost.append((pid, trial))
        return lost
    finally:
        db.close()


def percentiles(lat: list[float]) -> dict[str, float | None]:
    if not lat:
        return {"p50_ms": None, "p99_ms": None}
    return {"p50_ms": round(float(np.percentile(lat, 50)), 2), "p99_ms": round(float(np.percentile(lat, 99)), 2)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--participants", type=int, default=200, help="concurrent simulated participants")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (gthread)")
    ap.add_argument("--clip-seconds", type=float, default=8.0, help="stimulus length (really waited for)")
    ap.add_argument("--think-seconds", type=float, default=4.0, help="pause before each answer")
    ap.add_argument("--items", type=int, default=2, help="items in the synthetic study (+3 catch trials)")
    ap.add_argument("--ramp-seconds", type=float, default=30.0, help="participants start spread over this time")
    ap.add_argument("--kill-at", type=float, default=60.0,
                    help="SIGKILL gunicorn this many s into the load (<0: never)")
    ap.add_argument("--limit-seconds", type=float, default=180.0, help="hard bound on the load phase")
    ap.add_argument("--out", type=Path, default=Path("results/perf/server.json"), help="result JSON")
    return ap.parse_args(argv)


def inject_fault(server: subprocess.Popen, restart, metrics: Metrics, db_path: Path, kill_at: float):
    """SIGKILL the gunicorn process group at ``kill_at`` s, check the acknowledged answers on
    disk while it is down, restart it. Returns the new server and what happened."""
    time.sleep(max(0.0, kill_at - (time.perf_counter() - metrics.t0)))
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    kill_t = time.perf_counter() - metrics.t0
    with metrics.lock:
        acked_before = dict(metrics.acked)
    lost = lost_answers(db_path, acked_before, kill_t)
    server = restart()
    return server, {"kill_at_s": round(kill_t, 2), "acknowledged_before_kill": len(acked_before),
                    "lost_at_kill": len(lost), "downtime_s": round(time.perf_counter() - metrics.t0 - kill_t, 2)}


def check_database(db_path: Path, acked: dict) -> tuple[list, str, int]:
    """Lost acknowledged answers, ``PRAGMA integrity_check``, and the number of stored judgments."""
    lost = lost_answers(db_path, acked, float("inf"))
    db = connect(db_path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        stored = db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
    finally:
        db.close()
    return lost, integrity, stored


def run_load(args: argparse.Namespace) -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lt-load-") as tmp:
        study, clip_ms = make_study(Path(tmp), args.clip_seconds, args.items)
        db_path = study.parent / StudyConfig().database
        port, log = free_port(), Path(tmp) / "gunicorn.log"

        def restart() -> subprocess.Popen:
            return start_gunicorn(study, port, args.workers, args.threads, log)

        server = restart()
        metrics = Metrics()
        deadline = time.time() + args.limit_seconds
        rng = random.Random(0)
        threads = [threading.Thread(target=run_participant, daemon=True, args=(
            Participant(f"LOAD{k:04d}", port, metrics, clip_ms, args.think_seconds, deadline,
                        random.Random(rng.random())), rng.uniform(0, args.ramp_seconds)))
            for k in range(args.participants)]
        for t in threads:
            t.start()
        fault: dict = {}
        if args.kill_at >= 0:
            server, fault = inject_fault(server, restart, metrics, db_path, args.kill_at)
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time()))
        wall = time.perf_counter() - metrics.t0
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        lost, integrity, stored = check_database(db_path, metrics.acked)
        server_log = log.read_text(errors="replace").splitlines()[-20:]
    kill_t = fault.get("kill_at_s", float("inf"))
    ok = [(t, lat) for t, lat, status, _ in metrics.samples if status < 500]
    routes = sorted({r for *_, r in metrics.samples})
    return {
        "concurrency": args.participants,
        "requests_per_s": round(len(ok) / wall, 1),
        **percentiles([lat for t, lat in ok if t < kill_t]),  # steady phase, before the kill
        "whole_run": percentiles([lat for _, lat in ok]),
        "by_route_before_kill": {r: {"n": sum(1 for s in metrics.samples if s[3] == r and s[0] < kill_t),
                                     **percentiles([s[1] for s in metrics.samples if s[3] == r and s[0] < kill_t])}
                                 for r in routes},
        "requests": len(metrics.samples),
        "server_errors_5xx": sum(1 for _, _, s, _ in metrics.samples if s >= 500),
        "connection_errors": metrics.connection_errors,
        "acknowledged": len(metrics.acked),
        "lost_acknowledged": len(lost) + fault.get("lost_at_kill", 0),
        "judgments_stored": stored,
        "integrity_check": integrity,
        "participant_failures": metrics.failures[:20],
        "server_log_tail": server_log,
        "fault": fault,
        "wall_s": round(wall, 1),
        "settings": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread",
                     "clip_seconds": args.clip_seconds, "think_seconds": args.think_seconds,
                     "sqlite": "WAL; answers synchronous=FULL, playback logs NORMAL",
                     "client": "same machine, one thread per participant"},
        "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run_load(args)
    atomic_write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("concurrency", "requests_per_s", "p50_ms", "p99_ms", "acknowledged",
                                             "lost_acknowledged", "integrity_check")}))
    print(f"wrote {args.out}")
    return 0 if result["lost_acknowledged"] == 0 and result["integrity_check"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
