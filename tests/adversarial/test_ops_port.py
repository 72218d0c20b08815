"""The ops port (/metrics, /healthz, /readyz), attacked on loopback.

A stdlib threaded server takes a thread per connection: half-requests and
idle sockets are closed after a short read timeout, and at most
MAX_CONNECTIONS are served at once, so a flood cannot pile up threads in the
process that carries the calls.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from attack import closed_by_peer

import agi.ops_http as ops
from agi import metrics
from agi.ops_http import Lifecycle, OpsServer


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(ops, "READ_TIMEOUT_S", 1.0)
    s = OpsServer(("127.0.0.1", 0), Lifecycle()).start()
    yield s
    s.stop()


def refused(reason: str) -> float:
    samples = metrics.METRICS.refused.collect()[0].samples
    return sum(x.value for x in samples if x.labels == {"listener": "ops", "reason": reason} and x.name.endswith("_total"))


def test_idle_half_requests_hold_neither_threads_nor_the_port(server):
    threads_before = threading.active_count()
    too_many, too_slow = refused("too_many"), refused("too_slow")
    socks = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        socks.append(s)
    time.sleep(0.3)
    assert threading.active_count() - threads_before <= ops.MAX_CONNECTIONS + 2
    assert all(closed_by_peer(s, 4.0) for s in socks)  # every one closed: refused at once, or at the timeout
    for s in socks:
        s.close()
    started = time.monotonic()
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert time.monotonic() - started < 1.0
    assert refused("too_many") - too_many + refused("too_slow") - too_slow >= 200  # each one counted


def test_garbage_gets_an_error_and_the_port_keeps_answering(server):
    for payload in (b"\x00\xff" * 1000, b"GET " + b"/a" * 40_000 + b" HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(payload)
        assert closed_by_peer(s, 4.0)
        s.close()
    assert "callticket_active_calls" in httpx.get(f"{server.url}/metrics", timeout=5).text
