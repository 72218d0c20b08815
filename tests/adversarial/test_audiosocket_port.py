"""The AudioSocket port of the Asterisk worker, attacked on loopback while calls come in.

Only a stream some call waits for (its UUID frame first) becomes a session;
anything else closes that one connection, and strangers never hold more
than their own small budget of sockets.
"""

from __future__ import annotations

import asyncio
import struct
import uuid as uuidlib

import asterisk_peer as peer
import pytest
from attack import PeakRss

from agi.pbx.asterisk.audiosocket import Kind, encode_frame

GARBAGE = {
    "early EOF": b"",
    "half a frame header": b"\x01\x00",
    "unknown kind": b"\x42\x00\x01x",
    "oversized audio frame": struct.pack(">BH", Kind.AUDIO, 0xFFFF) + b"\x00" * 0xFFFF,
    "audio before the UUID": encode_frame(Kind.AUDIO, b"\x00" * 320),
    "a UUID no call expects": encode_frame(Kind.UUID, uuidlib.uuid4().bytes),
    "binary": bytes(range(256)) * 64,
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_closes_one_stream_and_the_next_call_is_served(name):
    async def go() -> None:
        w = await peer.worker()
        assert await peer.garbage(w.audio.port, GARBAGE[name]) == b""
        status, seconds = await peer.good_call(w)
        assert status == "DONE" and seconds < 5.0
        await w.close()

    asyncio.run(go())


def test_idle_and_dripping_strangers_never_keep_a_call_from_its_audio():
    async def go() -> None:
        w = await peer.worker()
        strangers = []
        with PeakRss() as mem:
            for i in range(300):
                r, wr = await asyncio.open_connection("127.0.0.1", w.audio.port)
                if i % 2:
                    wr.write(b"\x01")  # the first byte of a UUID frame, then nothing
                strangers.append(wr)
            await asyncio.sleep(0.2)
            for _ in range(3):
                status, seconds = await peer.good_call(w)  # while all 300 are open
                assert status == "DONE" and seconds < 5.0
        assert mem.growth < 30, f"grew {mem.growth:.0f} MB"
        assert w.audio.rejected >= 300 - 64 - 3  # the strangers beyond the cap were closed at once
        for wr in strangers:
            wr.close()
        await w.close()

    asyncio.run(go())
