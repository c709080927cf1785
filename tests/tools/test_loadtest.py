"""The load/fault benchmark's machinery on a tiny run (numbers are measured by the benchmark
itself, never asserted here): gunicorn is killed with SIGKILL and restarted mid-run, and every
acknowledged answer must be found in the database."""

from __future__ import annotations

import json

import pytest

from tools import loadtest


@pytest.mark.slow
def test_tiny_load_run_with_a_kill_loses_no_acknowledged_answer(tmp_path):
    out = tmp_path / "server.json"
    code = loadtest.main(["--participants", "3", "--kill-at", "3", "--clip-seconds", "0.5", "--think-seconds", "0.1",
                          "--items", "2", "--ramp-seconds", "0.5", "--limit-seconds", "180", "--out", str(out)])
    result = json.loads(out.read_text())
    assert code == 0 and result["lost_acknowledged"] == 0 and result["integrity_check"] == "ok"
    # 2 items + 3 catch trials each; a participant that fails says why in participant_failures
    assert result["acknowledged"] == result["judgments_stored"] == 3 * 5, result["participant_failures"]
    assert result["fault"]["kill_at_s"] >= 3


def test_lost_answers_notices_a_missing_answer(tmp_path):
    from listening_test.db import init_db

    init_db(tmp_path / "x.sqlite")
    acked = {("P1", 0): (1.0, {"preference": "A", "ratings": {"A": {"rhythm": 1}, "B": {"rhythm": 2}}})}
    assert loadtest.lost_answers(tmp_path / "x.sqlite", acked, before=5.0) == [("P1", 0)]


def test_an_answer_retried_after_a_lost_reply_is_the_same_answer():
    import random
    import time

    class LosesFirstReply:
        def __init__(self):
            self.bodies = []

        def request(self, method, path, body=None, form=None):
            self.bodies.append(body)
            if len(self.bodies) == 1:
                raise loadtest.ServerDown("reply lost")
            return 200, "", "{}"

    metrics = loadtest.Metrics()
    p = loadtest.Participant("P1", 0, metrics, {}, 0.0, time.time() + 10, random.Random(0))
    p.client = LosesFirstReply()
    loadtest.retrying(p.answer, time.time() + 10, p.choose(0))
    assert p.client.bodies[0] == p.client.bodies[1] and ("P1", 0) in metrics.acked
