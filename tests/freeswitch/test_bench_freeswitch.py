"""`callticket bench freeswitch`: a whole spoken order through serve-esl, and its figures."""

from __future__ import annotations

import json

from agi.cli import main


def test_the_freeswitch_bench_places_orders_and_reports_the_workers_reply_latency(capsys, tmp_path):
    assert main(["bench", "freeswitch", "--calls", "1", "--rounds", "1", "--workdir", str(tmp_path), "--json"]) == 0
    (level,) = json.loads(capsys.readouterr().out)["levels"]
    assert level["n"] == 1 and level["calls"] == 1
    assert level["calls_committed"] == 1.0  # the caller's order reached the local POS
    # one reply per spoken caller turn, each timed by the worker
    assert level["turns"] == 7
    assert 0 < level["reply_latency_ms_p50"] <= level["reply_latency_ms_p95"]
    # how many turns the multilingual model heard again, and how many of those were asked for at the pause
    assert 0 <= level["second_opinions_early"] <= level["second_opinions"] <= level["turns"]
