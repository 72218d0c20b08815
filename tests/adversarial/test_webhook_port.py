"""The POS webhook port (`POST /webhooks/<location>`), attacked on loopback.

The port shares its process with the live calls, so what it reads is what
the calls lose: a body is read in pieces and refused once past the limit,
however it is framed; slow or idle clients are closed; a signature is
checked before anything else is said; a replayed or stale event changes
nothing, across a restart too; an older state never replaces a newer one.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import time
from pathlib import Path

import httpx
import pytest
from attack import PeakRss, closed_by_peer
from vendor_events import HOOK_URL, ITEM, VENDORS

from adapters.signing import hmac_hex
from agi.catalog import Catalog
from agi.catalog_sync import CatalogStore
from agi.webhook_ledger import WebhookLedger
from agi.webhooks import MAX_BODY, WebhookServer, webhook_app

NOW = time.time


def catalog() -> Catalog:
    return Catalog.model_validate({"items": [{"id": ITEM, "name": "Soda", "price": 200},
                                             {"id": "ITEM-2", "name": "Tea", "price": 150}]})


class VendorPos:
    """A vendor adapter's own webhook parsing, over a catalog kept here (no network)."""

    def __init__(self, vendor_adapter):
        self.vendor = vendor_adapter
        self.name = vendor_adapter.name
        self.fetches = 0

    def fetch_catalog(self) -> Catalog:
        self.fetches += 1
        return catalog()

    def parse_webhook(self, headers, body):
        return self.vendor.parse_webhook(headers, body)


class Port:
    """A webhook port over one location, `shop`, and its durable ledger."""

    def __init__(self, adapter, ledger_path: Path):
        self.adapter = adapter
        self.store = CatalogStore(refresh_s=3600)
        self.store.register("shop", adapter)
        self.store.current("shop")
        self.ledger = WebhookLedger(f"sqlite:{ledger_path}")
        self.server = WebhookServer(webhook_app(self.store, ledger=self.ledger)).start()
        self.url = self.server.url

    def post(self, headers: dict[str, str], body: bytes, location: str = "shop") -> httpx.Response:
        return httpx.post(f"{self.url}/webhooks/{location}", content=body, headers=headers, timeout=10)

    def available(self) -> bool:
        return self.store.current("shop").is_available(ITEM)

    def stop(self) -> None:
        self.server.stop()
        self.ledger.close()


@pytest.fixture
def port(tmp_path):
    ports: list[Port] = []

    def make(vendor: str = "square") -> Port:
        p = Port(VendorPos(VENDORS[vendor].adapter()), tmp_path / "outbox.sqlite3")
        ports.append(p)
        return p

    yield make
    for p in ports:
        p.stop()


def good_request(p: Port) -> None:
    """A fresh signed event is applied at once."""
    headers, body = VENDORS["square"].event(NOW(), not p.available())
    before = p.available()
    started = time.monotonic()
    r = p.post(headers, body)
    assert r.status_code == 200 and r.json()["applied"], r.text
    assert p.available() is not before
    assert time.monotonic() - started < 5.0


# ------------------------------------------------------------------ bodies


def _chunked_attack(url: str, total_mb: int) -> bytes:
    """POST a chunked body of `total_mb` MB, 1 MB a chunk; returns what the server answered (if anything)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    answer = b""
    try:
        sock.sendall(b"POST /webhooks/shop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"x-square-hmacsha256-signature: AAAA\r\n\r\n")
        chunk = b"100000\r\n" + b"{" * 0x100000 + b"\r\n"
        for _ in range(total_mb):
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the end of the body
            sock.sendall(chunk)
        sock.settimeout(5)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError:
        pass  # reset mid-body: the server stopped reading, which is the point
    finally:
        sock.close()
    return answer


def test_a_chunked_body_over_the_limit_is_refused_without_being_read_whole(port):
    p = port()
    with PeakRss() as mem:
        answer = _chunked_attack(p.url, 64)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert mem.growth < 3 * MAX_BODY / 2**20, f"grew {mem.growth:.0f} MB reading a 64 MB chunked body"
    good_request(p)


def test_a_declared_length_over_the_limit_is_refused_unread(port):
    p = port()
    r = httpx.post(f"{p.url}/webhooks/shop", content=b"x" * (MAX_BODY + 1), timeout=10)
    assert r.status_code == 413
    good_request(p)


@pytest.mark.parametrize("payload", [
    b"",  # early EOF
    b"POST /webhooks/shop HTTP/1.1\r\nHost: x\r\nContent-Le",  # half a header
    bytes(range(256)) * 16,  # binary
    b"POST /webhooks/shop HTTP/1.1\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n",  # an over-long header line
    b"POST /webhooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",  # a body cut short
], ids=["early EOF", "partial header", "binary", "over-long line", "short body"])
def test_garbage_closes_one_connection_and_the_port_keeps_serving(port, payload):
    p = port()
    host, port_no = p.url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port_no)))
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    assert closed_by_peer(s, 5.0)
    s.close()
    good_request(p)


# ------------------------------------------------------------ slow and idle


def test_slow_and_idle_clients_are_closed_and_the_port_keeps_serving(port, monkeypatch):
    import agi.webhooks as wh

    monkeypatch.setattr(wh, "REQUEST_DEADLINE_S", 1.0)
    monkeypatch.setattr(wh, "MAX_CONNECTIONS", 40)
    p = port()
    host, port_no = p.url.removeprefix("http://").split(":")
    drip = socket.create_connection((host, int(port_no)))
    drip.sendall(b"POST /webhooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # then nothing
    half = socket.create_connection((host, int(port_no)))
    half.sendall(b"POST /webhooks/sh")  # half a request line
    flood = [socket.create_connection((host, int(port_no))) for _ in range(60)]  # beyond the cap
    try:
        assert closed_by_peer(drip, 5.0), "a body that never ends kept its connection"
        assert closed_by_peer(half, 5.0), "half a request kept its connection"
        assert sum(closed_by_peer(s, 0.05) for s in flood) >= 20, "connections beyond the cap were kept"
        for s in flood:
            s.close()
        good_request(p)
    finally:
        for s in (drip, half, *flood):
            s.close()


# ----------------------------------------------------- signatures and names


def test_unknown_location_and_forged_signature_get_the_same_answer(port):
    p = port()
    headers, body = VENDORS["square"].event(NOW(), False)
    forged = {"x-square-hmacsha256-signature": "AAAA"}
    unknown = p.post(headers, body, location="elsewhere")
    bad = p.post(forged, body)
    assert (unknown.status_code, unknown.json()) == (bad.status_code, bad.json()) == (401, {"error": "signature"})
    assert p.available()


def test_healthz_names_no_location(port):
    p = port()
    r = httpx.get(f"{p.url}/healthz", timeout=5)
    assert r.status_code == 200 and "shop" not in r.text


def test_a_malformed_signed_square_event_is_a_400_not_a_500(port, caplog):
    p = port()
    for data in ('"not an object"', '{"object": {"inventory_counts": ["x"]}}',
                 '{"object": {"inventory_counts": [{"state": "IN_STOCK", "location_id": "L1", "quantity": "lots"}]}}'):
        body = ('{"type": "inventory.count.updated", "event_id": "e", "created_at": "%s", "data": %s}'
                % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), data)).encode()
        from adapters.signing import hmac_b64

        with caplog.at_level(logging.WARNING):
            r = p.post({"x-square-hmacsha256-signature": hmac_b64("sq-key", HOOK_URL.encode() + body)}, body)
        assert r.status_code == 400, (data, r.status_code, r.text)
    assert not [rec for rec in caplog.records if rec.exc_info]  # a warning line, no traceback
    good_request(p)


# ------------------------------------------------------ replays and ages


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_replayed_event_changes_nothing_even_after_a_restart(port, vendor):
    v = VENDORS[vendor]
    p = port(vendor)
    headers, body = v.event(NOW(), False)
    first = p.post(headers, body)
    assert first.status_code == 200, first.text
    fetches = p.adapter.fetches
    for _ in range(2):
        again = p.post(headers, body)
        assert again.status_code == 200 and again.json().get("duplicate"), again.text
    p.stop()
    restarted = port(vendor)  # a new process over the same outbox database
    again = restarted.post(headers, body)
    assert again.status_code == 200 and again.json().get("duplicate"), again.text
    assert p.adapter.fetches == fetches and restarted.adapter.fetches == 1  # no re-sync for a replay


def test_a_replay_after_thousands_of_other_events_is_still_a_duplicate(port):
    p = port()
    headers, body = VENDORS["square"].event(NOW(), False)
    assert p.post(headers, body).json()["applied"]
    for i in range(4200):
        p.ledger.first_time("shop", f"other-{i}", NOW())
    assert p.post(headers, body).json().get("duplicate")


@pytest.mark.parametrize("vendor", sorted(name for name, v in VENDORS.items() if v.dated))
def test_an_event_dated_outside_the_window_is_not_applied(port, vendor):
    v = VENDORS[vendor]
    p = port(vendor)
    fetches = p.adapter.fetches
    for at in (NOW() - 3 * 365 * 86400, NOW() + 3600):  # years ago; an hour in the future
        headers, body = v.event(at, False)
        r = p.post(headers, body)
        assert r.status_code == 200 and r.json()["applied"] is False and r.json().get("stale"), r.text
    assert p.available() and p.adapter.fetches == fetches


@pytest.mark.parametrize("vendor", sorted(name for name, v in VENDORS.items() if v.availability))
def test_an_older_state_never_replaces_a_newer_one(port, vendor):
    v = VENDORS[vendor]
    p = port(vendor)
    sold_out = v.event(NOW() + 1, False)  # both after the catalog was read
    back_in = v.event(NOW() + 2, True)
    assert p.post(*back_in).json()["applied"]
    late = p.post(*sold_out)  # delivered late: the vendor retried it
    assert late.status_code == 200 and late.json()["applied"] is False, late.text
    assert p.available()


def test_an_event_older_than_the_last_full_fetch_is_not_applied(port):
    p = port()
    old = VENDORS["square"].event(NOW() - 60, False)
    p.store.refresh("shop")  # the catalog was read from the POS just now
    assert p.post(*old).json()["applied"] is False
    assert p.available()


def test_local_pos_webhooks_still_work(tmp_path):
    from adapters.local import LocalPos

    pizzeria = Path(__file__).resolve().parents[2] / "playbooks" / "catalogs" / "pizzeria.yaml"
    pos = LocalPos(tmp_path, pizzeria, webhook_secret="ls")
    store = CatalogStore(refresh_s=3600)
    store.register("pizzeria", pos)
    server = WebhookServer(webhook_app(store)).start()
    try:
        body = json.dumps({"availability": {"pizza-cheese": False}}).encode()
        r = httpx.post(f"{server.url}/webhooks/pizzeria", content=body,
                       headers={"X-Callticket-Signature": hmac_hex("ls", body)})
        assert r.status_code == 200 and r.json()["applied"]
        assert not store.current("pizzeria").is_available("pizza-cheese")
    finally:
        server.stop()
