"""AudioSocket framing and server, against raw TCP clients playing Asterisk's part."""

from __future__ import annotations

import asyncio
import struct
import time
import uuid

import pytest

from agi import events as ev
from agi.pbx.asterisk.audiosocket import (
    FRAME_BYTES,
    AudioSocketServer,
    FrameError,
    Kind,
    check_header,
    encode_frame,
    read_frame,
)


def test_encode_and_read_back() -> None:
    async def go() -> None:
        r = asyncio.StreamReader()
        r.feed_data(encode_frame(Kind.AUDIO, b"\x01\x02" * 160) + encode_frame(Kind.DTMF, b"5")
                    + encode_frame(Kind.HANGUP))
        r.feed_eof()
        a, d, hup = await read_frame(r), await read_frame(r), await read_frame(r)
        assert (a.kind, len(a.payload)) == (Kind.AUDIO, 320)
        assert (d.kind, d.payload) == (Kind.DTMF, b"5")
        assert hup.kind is Kind.HANGUP
        with pytest.raises(asyncio.IncompleteReadError):
            await read_frame(r)

    asyncio.run(go())


@pytest.mark.parametrize(
    "kind,length,message",
    [
        (0x42, 0, "unknown frame kind 0x42"),
        (0x10, 65535, "AUDIO frame of 65535 bytes"),
        (0x10, 321, "odd length"),
        (0x01, 15, "UUID frame of 15 bytes"),
        (0x03, 2, "DTMF frame of 2 bytes"),
        (0x00, 4, "HANGUP frame of 4 bytes"),
    ],
)
def test_bad_headers_are_named(kind: int, length: int, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        check_header(kind, length)


async def _server() -> AudioSocketServer:
    srv = AudioSocketServer("127.0.0.1", 0, handshake_timeout=1.0)
    await srv.start()
    return srv


async def _connect(srv: AudioSocketServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", srv.port)


async def _closed_by_server(reader: asyncio.StreamReader, within: float = 2.0) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(), within)
    except ConnectionResetError:
        return True
    return data == b""


def test_stream_correlated_by_uuid_carries_audio_and_dtmf() -> None:
    async def go() -> None:
        srv = await _server()
        u = str(uuid.uuid4())
        pending = srv.expect(u)
        r, w = await _connect(srv)
        w.write(encode_frame(Kind.UUID, uuid.UUID(u).bytes))
        w.write(encode_frame(Kind.AUDIO, b"\x10\x00" * 160))
        w.write(encode_frame(Kind.DTMF, b"7"))
        w.write(encode_frame(Kind.HANGUP))
        await w.drain()
        stream = await asyncio.wait_for(pending, 2)
        assert stream.uuid == u
        got = [e async for e in stream.events()]
        assert got == [ev.AudioIn(b"\x10\x00" * 160, 8000), ev.Dtmf("7"), ev.Hangup()]
        assert stream.end_reason == "asterisk hangup"
        w.close()
        await srv.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    "first",
    [
        encode_frame(Kind.UUID, uuid.uuid4().bytes),  # nobody expects this uuid
        encode_frame(Kind.AUDIO, b"\x00" * 320),  # audio before the uuid
        b"\x10\xff\xff" + b"\x00" * 100,  # oversized frame
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # garbage
        b"\x01\x00\x10\x01\x02",  # truncated uuid, then EOF
    ],
    ids=["unknown-uuid", "audio-first", "oversized", "garbage", "truncated"],
)
def test_bad_first_frame_closes_that_stream_only(first: bytes) -> None:
    async def go() -> None:
        srv = await _server()
        good_uuid = str(uuid.uuid4())
        pending = srv.expect(good_uuid)
        r, w = await _connect(srv)
        w.write(first)
        await w.drain()
        if first.startswith(b"\x01\x00\x10\x01"):
            w.write_eof()
        assert await _closed_by_server(r)
        # the expected call still connects afterwards
        r2, w2 = await _connect(srv)
        w2.write(encode_frame(Kind.UUID, uuid.UUID(good_uuid).bytes))
        await w2.drain()
        stream = await asyncio.wait_for(pending, 2)
        assert not stream.closed
        assert srv.rejected == 1
        w2.close()
        w.close()
        await srv.close()

    asyncio.run(go())


def test_bad_frame_mid_stream_ends_the_stream_with_a_reason() -> None:
    async def go() -> None:
        srv = await _server()
        u = str(uuid.uuid4())
        pending = srv.expect(u)
        r, w = await _connect(srv)
        w.write(encode_frame(Kind.UUID, uuid.UUID(u).bytes) + encode_frame(Kind.AUDIO, b"\x00" * 320) + b"\x10\x7f\xff")
        await w.drain()
        stream = await asyncio.wait_for(pending, 2)
        got = [type(e).__name__ async for e in stream.events()]
        assert got == ["AudioIn", "Hangup"]
        assert "AUDIO frame of 32767 bytes" in stream.end_reason
        assert await _closed_by_server(r)
        w.close()
        await srv.close()

    asyncio.run(go())


def test_reply_audio_is_paced_at_20ms_and_barge_in_drops_the_queue() -> None:
    async def go() -> None:
        srv = await _server()
        u = str(uuid.uuid4())
        pending = srv.expect(u)
        r, w = await _connect(srv)
        w.write(encode_frame(Kind.UUID, uuid.UUID(u).bytes))
        await w.drain()
        stream = await asyncio.wait_for(pending, 2)
        played = stream.play(b"\x01\x00" * 160 * 50)  # 1 s
        arrivals: list[float] = []
        for _ in range(10):
            kind, n = struct.unpack(">BH", await r.readexactly(3))
            await r.readexactly(n)
            assert (kind, n) == (Kind.AUDIO, FRAME_BYTES)
            arrivals.append(time.monotonic())
        span = arrivals[-1] - arrivals[0]
        assert 0.15 < span < 0.30, span  # 9 intervals of 20 ms, never a burst
        stream.stop_playback()
        assert await asyncio.wait_for(played, 1) is False
        # nothing of the cut prompt follows: at most the one frame already on the wire,
        # then only keepalive silence
        later = b""
        end = time.monotonic() + 0.7
        while (left := end - time.monotonic()) > 0:
            try:
                later += await asyncio.wait_for(r.read(4096), left)
            except asyncio.TimeoutError:
                break
        frames = [later[i + 3 : i + 3 + FRAME_BYTES] for i in range(0, len(later), 3 + FRAME_BYTES)]
        assert sum(f != b"\x00" * FRAME_BYTES for f in frames) <= 1
        done = stream.play(b"\x02\x00" * 160 * 2)
        assert await asyncio.wait_for(done, 1) is True
        await stream.hangup()
        rest = await r.read()
        assert rest.endswith(encode_frame(Kind.HANGUP))
        w.close()
        await srv.close()

    asyncio.run(go())


def test_idle_stream_sends_keepalive_so_asterisk_does_not_time_out() -> None:
    async def go() -> None:
        srv = await _server()
        u = str(uuid.uuid4())
        pending = srv.expect(u)
        r, w = await _connect(srv)
        w.write(encode_frame(Kind.UUID, uuid.UUID(u).bytes))
        await w.drain()
        await asyncio.wait_for(pending, 2)
        data = b""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.3:
            try:
                data += await asyncio.wait_for(r.read(4096), 0.2)
            except asyncio.TimeoutError:
                pass
        assert len(data) // (3 + FRAME_BYTES) >= 2  # at least one frame every 0.5 s
        w.close()
        await srv.close()

    asyncio.run(go())
