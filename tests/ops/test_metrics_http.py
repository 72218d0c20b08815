"""/metrics after a real simulated call, /healthz, /readyz, and the graceful stop."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agi.metrics import Metrics
from agi.ops_http import Lifecycle, OpsServer, outbox_check
from agi.records import CallRecords
from agi.registry import PlaybookRegistry
from agi.simulate import run_script


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def ops(tmp_path: Path):
    metrics = Metrics()
    records = CallRecords(f"sqlite:{tmp_path / 'calls.sqlite3'}")
    life = Lifecycle(records=records, metrics=metrics, check_timeout_s=0.5)
    server = OpsServer(("127.0.0.1", 0), life, metrics).start()
    yield server, life, metrics, records
    server.stop()
    records.close()


def test_scrape_after_a_simulated_call_has_every_series(ops, pb_dir, committer, pizza_order):
    server, life, metrics, records = ops
    registry = PlaybookRegistry(pb_dir, metrics=metrics)
    metrics.watch_outbox(lambda: (2, 1))

    def timed_commit(ticket, key):
        with metrics.time_pos("local"):
            return committer(ticket, key)

    with life.call("sim-1", pbx="asterisk", route="pizzeria", caller="+15551234567", language="en") as call:
        during = _samples(_get(server.url + "/metrics")[1])
        assert during[("callticket_active_calls", (("pbx", "asterisk"),))] == 1
        call.result = run_script(registry.get("pizzeria"), pizza_order, timed_commit, call_id="sim-1")
    metrics.stt_queue_depth(0)

    status, text = _get(server.url + "/metrics")
    assert status == 200
    s = _samples(text)
    assert s[("callticket_active_calls", (("pbx", "asterisk"),))] == 0
    assert s[("callticket_calls_total", (("outcome", "committed"), ("pbx", "asterisk")))] == 1
    assert s[("callticket_calls_total", (("outcome", "transferred"), ("pbx", "asterisk")))] == 0
    # One reply per caller turn; the greeting is not a reply.
    assert s[("callticket_reply_latency_seconds_count", ())] == len(pizza_order.say)
    assert s[("callticket_pos_request_seconds_count", (("vendor", "local"),))] == 1
    assert ("callticket_pos_request_seconds_count", (("vendor", "square"),)) in s
    assert s[("callticket_outbox_pending", ())] == 2
    assert s[("callticket_outbox_dead_letter", ())] == 1
    assert 0 <= s[("callticket_catalog_age_seconds", (("location", "pizzeria/main"),))] < 60
    assert ("callticket_catalog_age_seconds", (("location", "cafe/main"),)) in s
    assert s[("callticket_stt_queue_depth", ())] == 0
    assert ("callticket_stt_seconds_count", ()) in s and ("callticket_stt_queue_seconds_count", ()) in s
    assert s[("callticket_playbooks_loaded", ())] == 2

    record = records.get("sim-1")
    assert record.outcome == "committed" and record.caller == "+1555***4567" and record.route == "pizzeria"
    assert len(record.turns) == len(pizza_order.say) + 1


def test_a_failing_call_counts_as_error_and_is_recorded(ops):
    server, life, metrics, records = ops
    with pytest.raises(RuntimeError):
        with life.call("boom", pbx="freeswitch", route="cafe"):
            raise RuntimeError("media socket died")
    s = _samples(_get(server.url + "/metrics")[1])
    assert s[("callticket_calls_total", (("outcome", "error"), ("pbx", "freeswitch")))] == 1
    assert s[("callticket_active_calls", (("pbx", "freeswitch"),))] == 0
    assert records.get("boom").outcome == "error"
    assert life.active == 0


def test_a_broken_records_database_does_not_break_the_call(ops, caplog):
    server, life, metrics, records = ops
    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    records.db.run = broken  # every write now fails
    with life.call("c1", pbx="asterisk") as call:
        call.result = {"outcome": "hung_up", "turns": []}
    assert any("call record" in r.getMessage() for r in caplog.records)
    s = _samples(_get(server.url + "/metrics")[1])
    assert s[("callticket_calls_total", (("outcome", "hung_up"), ("pbx", "asterisk")))] == 1


def test_healthz_and_readyz(ops, tmp_path: Path):
    server, life, metrics, records = ops
    status, body = _get(server.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    life.add_check("outbox", outbox_check(None, tmp_path))
    life.add_check("stt", lambda: (True, "2 models loaded"))
    status, body = _get(server.url + "/readyz")
    assert status == 200, body
    assert json.loads(body)["checks"]["stt"] == {"ok": True, "detail": "2 models loaded"}

    life.add_check("stt", lambda: (False, "loading model base"))
    status, body = _get(server.url + "/readyz")
    assert status == 503 and json.loads(body)["checks"]["stt"]["detail"] == "loading model base"

    life.add_check("stt", lambda: time.sleep(5) or True)
    started = time.monotonic()
    status, body = _get(server.url + "/readyz")
    assert status == 503 and "no answer" in json.loads(body)["checks"]["stt"]["detail"]
    assert time.monotonic() - started < 3
    assert _get(server.url + "/nope")[0] == 404


def test_outbox_check_reports_an_unwritable_place(tmp_path: Path):
    ok, detail = outbox_check(None, tmp_path / "missing" / "deeper")()
    assert not ok and "not a writable directory" in detail


def test_drain_refuses_new_calls_and_waits_for_running_ones(ops):
    server, life, metrics, records = ops
    entered, release = threading.Event(), threading.Event()

    def call():
        with life.call("long", pbx="asterisk") as c:
            entered.set()
            release.wait(10)
            c.result = {"outcome": "committed", "turns": []}

    t = threading.Thread(target=call)
    t.start()
    entered.wait(5)
    drained = []
    d = threading.Thread(target=lambda: drained.append(life.drain(10)))
    d.start()
    time.sleep(0.2)
    assert not life.accepting and drained == []  # still waiting for the running call
    status, body = _get(server.url + "/readyz")
    assert status == 503 and json.loads(body)["checks"]["accepting_calls"]["ok"] is False
    release.set()
    d.join(10)
    t.join(10)
    assert drained == [True] and life.active == 0
    assert records.get("long").outcome == "committed"


def test_drain_gives_up_after_the_grace_period(ops):
    server, life, metrics, records = ops
    with life.call("stuck", pbx="asterisk"):
        started = time.monotonic()
        assert life.drain(0.3) is False
        assert 0.25 < time.monotonic() - started < 2
