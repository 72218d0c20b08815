"""Garbage on the live FastAGI and AudioSocket ports of `callticket serve-agi`:
each bad connection ends alone, the worker goes back to idle with no socket
left half-closed, and the next real call still ends in an order."""

from __future__ import annotations

import time

import pbx_harness as h
from pbx_harness import ORDER, PIZZERIA


def cpu_share(pid: int, seconds: float) -> float:
    start = h.proc_cpu_seconds(pid)
    time.sleep(seconds)
    return (h.proc_cpu_seconds(pid) - start) / seconds


def settle(pid: int, timeout: float = 15.0) -> list[str]:
    """Wait until the worker holds only its listening sockets; returns what it holds."""
    end = time.monotonic() + timeout
    states = h.tcp_states(pid)
    while time.monotonic() < end and any(s != "LISTEN" for s in states):
        time.sleep(0.2)
        states = h.tcp_states(pid)
    return states


def test_malformed_input_leaves_the_worker_idle_and_serving(asterisk, serve_agi, workdir):
    pid = serve_agi.pid
    logs_before = len(serve_agi.log_lines())
    assert settle(pid) == ["LISTEN", "LISTEN"]
    serve_agi.wait_speech_ready()
    idle_before = cpu_share(pid, 2.0)
    for _ in range(3):
        h.malformed_agi(asterisk.ports.agi)
        h.malformed_audiosocket(asterisk.ports.audiosocket)
    h.rapid_connect_close(asterisk.ports.agi, 1000)
    h.rapid_connect_close(asterisk.ports.audiosocket, 1000)
    assert serve_agi.proc.poll() is None, "the worker died"

    states = settle(pid)
    assert "CLOSE-WAIT" not in states
    assert states == ["LISTEN", "LISTEN"], states
    idle_after = cpu_share(pid, 3.0)
    assert idle_after < max(0.03, 2 * idle_before), f"worker busy after the attack: {idle_after:.1%} of a core"
    errors = [r for r in serve_agi.log_lines()[logs_before:] if r.get("level") in ("error", "critical")]
    assert errors == []  # each bad connection is a warning at most, never a crash trace

    # and a real caller still gets their order in
    before = {o["order_id"] for o in _orders(serve_agi)}
    call, said = h.place_call(asterisk, workdir, PIZZERIA, ORDER, number="+15550001111")
    call.start()
    assert call.wait(200) == 0, call.messages()[-2000:]
    new = [o for o in _orders(serve_agi) if o["order_id"] not in before]
    assert len(new) == 1 and h.order_problems(new[0], "+15550001111") == []


def _orders(worker: h.ServeAgi) -> list[dict]:
    if not (worker.data_dir / "local_pos.sqlite3").exists():
        return []
    return h.local_pos_orders(worker.data_dir, PIZZERIA)
