"""FastAGI header handling, replies and limits, against raw TCP clients playing Asterisk."""

from __future__ import annotations

import asyncio

import pytest

from agi.pbx.asterisk.fastagi import (
    AgiChannel,
    AgiHangup,
    FastAgiServer,
    agi_args,
    parse_result,
    quote,
    route_of,
)

HEADER = (
    "agi_network: yes\n"
    "agi_network_script: pizzeria\n"
    "agi_request: agi://127.0.0.1:4573/pizzeria\n"
    "agi_channel: PJSIP/trunk-00000001\n"
    "agi_language: en\n"
    "agi_uniqueid: 1700000000.1\n"
    "agi_callerid: +15551234567\n"
    "agi_dnid: 5551234\n"
    "agi_arg_1: language=es\n"
    "\n"
)


def test_parse_results() -> None:
    r = parse_result("200 result=1 (hello world)")
    assert (r.code, r.result, r.data, r.ok) == (200, "1", "hello world", True)
    r = parse_result("200 result=0 endpos=242214")
    assert (r.result, r.extra) == ("0", {"endpos": "242214"})
    assert not parse_result("200 result=-1").ok
    assert parse_result("511 Command Not Permitted on a dead channel or intercepted").code == 511


def test_route_and_args() -> None:
    env = {"agi_network_script": "salon", "agi_arg_1": "language=es", "agi_arg_2": "vip"}
    assert route_of(env) == "salon"
    assert route_of({"agi_request": "agi://10.0.0.1/taqueria"}) == "taqueria"
    assert agi_args(env) == ["language=es", "vip"]


def test_quote_keeps_a_command_on_one_line() -> None:
    assert quote('say "hi"\nEXEC Dial x') == '"say \\"hi\\" EXEC Dial x"'


async def _server(**kw) -> tuple[FastAgiServer, list[AgiChannel], asyncio.Event]:
    seen: list[AgiChannel] = []
    release = asyncio.Event()

    async def route(agi: AgiChannel) -> None:
        seen.append(agi)
        r = await agi.command("ANSWER")
        assert r.ok
        await release.wait()

    srv = FastAgiServer("127.0.0.1", 0, **kw)
    srv.add_route("pizzeria", route)
    await srv.start()
    return srv, seen, release


async def _eof_within(reader: asyncio.StreamReader, seconds: float = 7.0) -> bytes:
    """What the server sent before closing (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    except ConnectionResetError:
        return b""


def test_valid_session_reads_env_and_sends_commands() -> None:
    async def go() -> None:
        srv, seen, release = await _server()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(HEADER.encode())
        await w.drain()
        assert await r.readline() == b"ANSWER\n"
        w.write(b"200 result=0\n")
        await w.drain()
        await asyncio.sleep(0.05)
        agi = seen[0]
        assert agi.route == "pizzeria"
        assert agi.headers["agi_callerid"] == "+15551234567"
        assert agi.args == ["language=es"]
        release.set()
        assert await _eof_within(r) == b""
        await srv.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    "payload,why",
    [
        (b"", "closed before anything"),
        (b"agi_network_script: pizzeria\nagi_req", "closed during the header"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\n\n", "binary garbage"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "an HTTP request"),
        (b"agi_x: " + b"a" * 5000 + b"\n\n", "a header line over the limit"),
        (b"".join(b"agi_v%d: x\n" % i for i in range(500)) + b"\n", "too many header lines"),
        (b"agi_network: yes\n\n", "no request in the header"),
    ],
)
def test_bad_header_closes_that_session_only(payload: bytes, why: str) -> None:
    async def go() -> None:
        srv, seen, release = await _server()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        # a real call is in progress while the bad client misbehaves
        r2, w2 = await asyncio.open_connection("127.0.0.1", srv.port)
        w2.write(HEADER.encode())
        await w2.drain()
        assert await r2.readline() == b"ANSWER\n"
        w.write(payload)
        await w.drain()
        if not payload or payload.endswith(b"agi_req"):
            w.write_eof()
        rest = await _eof_within(r)
        assert rest == b"", why  # no command was sent to it
        assert srv.rejected == 1 and srv.active == 1
        w2.write(b"200 result=0\n")
        await w2.drain()
        release.set()
        assert await _eof_within(r2) == b""
        await srv.close()

    asyncio.run(go())


def test_silent_client_is_dropped_after_the_header_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import agi.pbx.asterisk.fastagi as fa

    monkeypatch.setattr(fa, "HEADER_TIMEOUT_S", 0.3)
    monkeypatch.setattr(fa.read_header, "__defaults__", (0.3,))

    async def go() -> None:
        srv, seen, release = await _server()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(b"agi_network: yes\n")
        await w.drain()
        assert await _eof_within(r, 2) == b""
        assert srv.rejected == 1
        await srv.close()

    asyncio.run(go())


def test_hangup_notice_then_dead_channel_ends_the_session() -> None:
    async def go() -> None:
        ended: list[str] = []

        async def route(agi: AgiChannel) -> None:
            await agi.command("ANSWER")
            try:
                await agi.command("EXEC AudioSocket x,127.0.0.1:1", timeout=None)
                await agi.command("GET VARIABLE X")
            except AgiHangup:
                ended.append("hangup")
                raise

        srv = FastAgiServer("127.0.0.1", 0)
        srv.add_route("pizzeria", route)
        await srv.start()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(HEADER.encode())
        assert await r.readline() == b"ANSWER\n"
        w.write(b"200 result=0\n")
        assert (await r.readline()).startswith(b"EXEC AudioSocket")
        w.write(b"HANGUP\n200 result=-1\n")
        assert await r.readline() == b"GET VARIABLE X\n"
        w.write(b"511 Command Not Permitted on a dead channel or intercepted\n")
        await w.drain()
        assert await _eof_within(r) == b""
        assert ended == ["hangup"] and srv.active == 0
        await srv.close()

    asyncio.run(go())


def test_eof_while_waiting_for_a_reply_ends_the_session() -> None:
    async def go() -> None:
        srv, seen, release = await _server()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(HEADER.encode())
        assert await r.readline() == b"ANSWER\n"
        w.close()
        for _ in range(50):
            if srv.active == 0 and not srv._tasks:
                break
            await asyncio.sleep(0.02)
        assert srv.active == 0 and not srv._tasks
        await srv.close()

    asyncio.run(go())


def test_calls_over_the_limit_hear_busy_and_return_to_the_dialplan() -> None:
    async def go() -> None:
        busy_calls: list[str] = []

        async def busy(agi: AgiChannel) -> None:
            busy_calls.append(agi.headers["agi_uniqueid"])
            await agi.command("EXEC Playback all-circuits-busy-now")

        srv, seen, release = await _server(max_calls=1, busy=busy)
        r1, w1 = await asyncio.open_connection("127.0.0.1", srv.port)
        w1.write(HEADER.encode())
        assert await r1.readline() == b"ANSWER\n"
        r2, w2 = await asyncio.open_connection("127.0.0.1", srv.port)
        w2.write(HEADER.replace("1700000000.1", "1700000000.2").encode())
        assert await r2.readline() == b"EXEC Playback all-circuits-busy-now\n"
        w2.write(b"200 result=0\n")
        assert await _eof_within(r2) == b""
        assert busy_calls == ["1700000000.2"] and srv.active == 1
        w1.write(b"200 result=0\n")
        release.set()
        assert await _eof_within(r1) == b""
        await srv.close()

    asyncio.run(go())


def test_unknown_route_is_told_and_closed() -> None:
    async def go() -> None:
        srv, seen, release = await _server()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(HEADER.replace("pizzeria", "nosuch").encode())
        assert await r.readline() == b"SET VARIABLE CALLTICKET_STATUS NOROUTE\n"
        w.write(b"200 result=1\n")
        assert await _eof_within(r) == b""
        assert seen == []
        await srv.close()

    asyncio.run(go())


def test_a_flood_of_idle_connections_is_capped_and_a_call_still_gets_through() -> None:
    async def go() -> None:
        srv, seen, release = await _server(max_calls=1)
        idle = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(150)]
        await asyncio.sleep(0.2)
        assert srv.rejected >= 150 - (1 * 2 + 64)  # the excess was closed at once, not after the header timeout
        for _, w in idle:
            w.close()
        await asyncio.sleep(0.2)
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(HEADER.encode())
        assert await r.readline() == b"ANSWER\n"
        w.write(b"200 result=0\n")
        release.set()
        assert await _eof_within(r) == b""
        await srv.close()

    asyncio.run(go())
