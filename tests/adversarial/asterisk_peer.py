"""The Asterisk worker in this process, and Asterisk's side of a good call, on loopback.

`worker()` is the real `AsteriskWorker` (FastAGI + AudioSocket servers, the
call bookkeeping) with one runner that echoes the caller's first audio frame
and ends the call: no speech, so the attacks, not the models, set the pace.
`good_call()` plays Asterisk for one whole call: the agi_* header, ANSWER,
the AudioSocket leg with the call's UUID, one audio frame heard back, the
hang-up, and CALLTICKET_STATUS DONE.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid as uuidlib

from agi import events as ev
from agi.pbx.asterisk.audiosocket import FRAME_BYTES, Kind, encode_frame
from agi.pbx.asterisk.worker import AsteriskWorker, CallOutcome, WorkerConfig

HEADER = ("agi_network: yes\nagi_network_script: shop\nagi_request: agi://127.0.0.1/shop\n"
          "agi_channel: PJSIP/trunk-0001\nagi_uniqueid: {uid}\nagi_callerid: +15551234567\n\n")


async def echo_once(info, stream) -> CallOutcome:
    async for event in stream.events():
        if isinstance(event, ev.AudioIn):
            await stream.play(event.pcm)
            return CallOutcome(reason="heard", outcome="hung_up")
    return CallOutcome(reason="caller hung up", outcome="hung_up")


async def worker(max_calls: int = 4) -> AsteriskWorker:
    w = AsteriskWorker(WorkerConfig(agi_port=0, audiosocket_port=0, max_calls=max_calls, busy_prompt=""),
                       lambda info: echo_once)
    await w.start()
    return w


async def _line(reader: asyncio.StreamReader) -> str:
    return (await reader.readuntil(b"\n")).decode().strip()


async def good_call(w: AsteriskWorker, within_s: float = 10.0) -> tuple[str, float]:
    """(the CALLTICKET_STATUS the worker set, seconds the call took)."""
    started = time.monotonic()
    return await asyncio.wait_for(_call(w), within_s), time.monotonic() - started


async def _call(w: AsteriskWorker) -> str:
    r, wr = await asyncio.open_connection("127.0.0.1", w.agi.port)
    try:
        wr.write(HEADER.format(uid=uuidlib.uuid4().hex).encode())
        assert await _line(r) == "ANSWER"
        wr.write(b"200 result=0\n")
        exec_line = await _line(r)
        m = re.match(r'EXEC AudioSocket "([0-9a-f-]+),([\d.]+):(\d+)"', exec_line)
        assert m, exec_line
        ar, aw = await asyncio.open_connection(m.group(2), int(m.group(3)))
        aw.write(encode_frame(Kind.UUID, uuidlib.UUID(m.group(1)).bytes))
        aw.write(encode_frame(Kind.AUDIO, b"\x01\x02" * (FRAME_BYTES // 2)))
        await aw.drain()
        heard = await ar.readexactly(3 + FRAME_BYTES)  # the echo (or a keep-alive frame of silence)
        assert heard[0] == Kind.AUDIO, heard[:3]
        await ar.read()  # the worker hangs the AudioSocket leg up
        aw.close()
        wr.write(b"200 result=0\n")  # AudioSocket() returns to the AGI
        status = await _line(r)
        wr.write(b"200 result=1\n")
        await wr.drain()
        return status.removeprefix("SET VARIABLE CALLTICKET_STATUS ")
    finally:
        wr.close()


async def garbage(port: int, payload: bytes, eof: bool = True) -> bytes:
    """Send `payload` to a port of the worker; what it answered before closing (a reset counts as closed)."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(payload)
        await w.drain()
        if eof:
            w.write_eof()
        try:
            return await asyncio.wait_for(r.read(), 10)
        except ConnectionResetError:
            return b""
    finally:
        w.close()
