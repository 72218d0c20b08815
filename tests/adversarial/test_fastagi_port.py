"""The FastAGI port of the Asterisk worker, attacked on loopback while calls come in.

A stranger's connection has a small budget of its own and a short deadline
to send a valid header; calls that sent one are never locked out by
strangers, and every refusal is logged and counted.
"""

from __future__ import annotations

import asyncio
import logging

import asterisk_peer as peer
import pytest
from attack import PeakRss

from agi import metrics

GARBAGE = {
    "early EOF": b"",
    "partial header": b"agi_network_script: shop\nagi_req",
    "binary": bytes(range(256)) * 8,
    "over-long line": b"agi_x: " + b"a" * 100_000 + b"\n\n",
    "too many lines": b"".join(b"agi_v%d: x\n" % i for i in range(500)) + b"\n",
    "not AGI": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "header without a request": b"agi_network: yes\n\n",
}


def refused(listener: str) -> float:
    samples = metrics.METRICS.refused.collect()[0].samples
    return sum(s.value for s in samples if s.labels.get("listener") == listener and s.name.endswith("_total"))


async def _drip(port: int, stop: asyncio.Event, every_s: float = 0.5) -> None:
    """A header sent one byte at a time, never finished."""
    try:
        _, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        for byte in b"agi_network: yes\nagi_network_script: shop\n" * 100:
            if stop.is_set() or w.is_closing():
                return
            w.write(bytes([byte]))
            await w.drain()
            await asyncio.sleep(every_s)
    except (ConnectionError, OSError):
        return
    finally:
        w.close()


def test_dripping_connections_do_not_lock_calls_out_and_are_counted(caplog):
    async def go() -> None:
        w = await peer.worker(max_calls=10)
        before = refused("fastagi")
        stop = asyncio.Event()
        drips = [asyncio.create_task(_drip(w.agi.port, stop)) for _ in range(200)]
        await asyncio.sleep(1.0)  # all 200 connected and dripping
        try:
            for _ in range(4):
                status, seconds = await peer.good_call(w)
                assert status == "DONE" and seconds < 5.0
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            await asyncio.gather(*drips)
            await w.close()
        assert refused("fastagi") - before >= 150  # the strangers beyond their budget, counted
    with caplog.at_level(logging.WARNING, logger="callticket.limits"):
        asyncio.run(go())
    lines = [r for r in caplog.records if r.getMessage() == "connection refused"]
    assert lines and len(lines) <= 4  # logged, but not once per connection
    assert lines[0].fields["listener"] == "fastagi"


def test_an_idle_flood_beyond_every_cap_leaves_room_for_calls():
    async def go() -> None:
        w = await peer.worker(max_calls=2)
        idle = []
        with PeakRss() as mem:
            for _ in range(300):
                idle.append(await asyncio.open_connection("127.0.0.1", w.agi.port))
            await asyncio.sleep(0.2)
            status, _ = await peer.good_call(w)  # while all 300 are still open
        assert status == "DONE"
        assert mem.growth < 30, f"grew {mem.growth:.0f} MB"
        open_now = w.agi.admission.waiting + w.agi.admission.sessions
        assert open_now <= w.agi.admission.waiting_limit
        for _, wr in idle:
            wr.close()
        await w.close()

    asyncio.run(go())


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_closes_one_connection_and_the_next_call_is_served(name):
    async def go() -> None:
        w = await peer.worker()
        eof = name in ("early EOF", "partial header")
        rest = await peer.garbage(w.agi.port, GARBAGE[name], eof)
        assert rest == b"", rest[:100]  # not a single command went to it
        status, seconds = await peer.good_call(w)
        assert status == "DONE" and seconds < 5.0
        await w.close()

    asyncio.run(go())


def test_a_header_that_never_ends_is_closed_at_the_deadline(monkeypatch):
    import agi.pbx.asterisk.fastagi as fa

    monkeypatch.setattr(fa, "HEADER_TIMEOUT_S", 0.5)

    async def go() -> None:
        w = await peer.worker()
        r, wr = await asyncio.open_connection("127.0.0.1", w.agi.port)
        wr.write(b"agi_network: yes\n")
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(r.read(), 5) == b""
        assert asyncio.get_running_loop().time() - started < 2.0
        assert (await peer.good_call(w))[0] == "DONE"
        wr.close()
        await w.close()

    asyncio.run(go())
