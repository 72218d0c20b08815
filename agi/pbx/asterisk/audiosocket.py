"""AudioSocket: the call's audio between Asterisk and the worker, over TCP.

Wire format (Asterisk's app_audiosocket / chan_audiosocket): every frame is
one kind byte, a 2-byte big-endian payload length, then the payload.
Asterisk opens the connection, sends the call's UUID (kind 0x01), then 20 ms
frames of 8 kHz signed-linear audio (0x10), DTMF digits (0x03), and a hangup
(0x00) or error (0xff) frame at the end. We send audio frames back; Asterisk
plays them to the caller as they arrive, so we pace them to the 20 ms clock.

`AudioSocketServer` accepts connections and hands each one, matched by UUID,
to the FastAGI call that asked for it (`expect(uuid)`). Anything malformed
(unknown UUID, a bad length, a truncated frame) closes that one stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
import uuid as uuidlib
from dataclasses import dataclass
from enum import IntEnum
from typing import AsyncIterator

from agi import events as ev
from agi.media.playout import PlayoutBuffer

log = logging.getLogger("callticket.audiosocket")

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * 2 * FRAME_MS // 1000  # 320 bytes of slin per 20 ms
HEADER = struct.Struct(">BH")
MAX_UNSENT = 64 * 1024  # about 2 s of audio waiting in the socket buffer


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10  # signed linear 16-bit little-endian, 8 kHz, mono
    ERROR = 0xFF


# The longest payload each kind may carry. Asterisk sends 20 ms audio frames;
# 120 ms leaves room for odd packetisation, anything longer is not a call.
MAX_PAYLOAD = {Kind.HANGUP: 0, Kind.UUID: 16, Kind.DTMF: 1, Kind.AUDIO: 1920, Kind.ERROR: 256}


class FrameError(Exception):
    """A frame that breaks the AudioSocket protocol."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: Kind
    payload: bytes = b""


def encode_frame(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    return HEADER.pack(kind, len(payload)) + payload


def check_header(kind_byte: int, length: int) -> Kind:
    """The frame's kind, or FrameError when the header is not one Asterisk sends."""
    try:
        kind = Kind(kind_byte)
    except ValueError:
        raise FrameError(f"unknown frame kind 0x{kind_byte:02x}") from None
    limit = MAX_PAYLOAD[kind]
    if length > limit:
        raise FrameError(f"{kind.name} frame of {length} bytes (at most {limit})")
    if kind is Kind.UUID and length != 16:
        raise FrameError(f"UUID frame of {length} bytes (16 expected)")
    if kind is Kind.DTMF and length != 1:
        raise FrameError(f"DTMF frame of {length} bytes (1 expected)")
    if kind is Kind.AUDIO and length % 2:
        raise FrameError(f"audio frame of odd length {length}")
    return kind


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """One frame; IncompleteReadError on a truncated frame or end of stream."""
    kind_byte, length = HEADER.unpack(await reader.readexactly(HEADER.size))
    kind = check_header(kind_byte, length)
    payload = await reader.readexactly(length) if length else b""
    return Frame(kind, payload)


class AudioSocketStream:
    """One call's audio: caller frames in (`events()`), paced reply audio out.

    This is the media port of a call: `events()` yields `AudioIn`, `Dtmf` and
    finally `Hangup`; `play()` queues audio and resolves when its last sample
    has gone out (or was cut); `stop_playback()` drops everything queued;
    `hangup()` ends the AudioSocket leg (the dialplan or the FastAGI call
    then goes on).
    """

    KEEPALIVE_S = 0.5  # app_audiosocket hangs up after 2 s without traffic

    def __init__(self, call_uuid: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.uuid = call_uuid
        self._reader = reader
        self._writer = writer
        self._events: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        self.playout = PlayoutBuffer(self._write_audio, SAMPLE_RATE)
        self._closed = asyncio.Event()
        self._last_write = time.monotonic()
        self.end_reason = ""
        self.frames_in = 0
        self.first_audio_out: float | None = None  # monotonic time of the first reply frame
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------ media port

    async def events(self) -> AsyncIterator[ev.Event]:
        """Caller audio (20 ms AudioIn frames) and DTMF; ends with Hangup."""
        while True:
            item = await self._events.get()
            if item is None:
                return
            yield item

    def play(self, pcm: bytes) -> asyncio.Future[bool]:
        """Queue 8 kHz slin; the future says True when all of it went out, False when cut."""
        return self.playout.play(pcm)

    def stop_playback(self) -> None:
        """Barge-in: nothing already queued keeps playing."""
        self.playout.cut()

    @property
    def playing(self) -> bool:
        return self.playout.playing

    @property
    def frames_out(self) -> int:
        return self.playout.frames_written

    async def hangup(self) -> None:
        """End the AudioSocket leg: Asterisk returns from AudioSocket()."""
        if self.closed:
            return
        self.playout.close()
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.write(encode_frame(Kind.HANGUP))
            await asyncio.wait_for(self._writer.drain(), 2.0)
        self._close("hangup sent")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------ internals

    async def run(self) -> None:
        """Read and write until either side ends the stream."""
        self._tasks = [
            asyncio.create_task(self.playout.run(), name=f"audiosocket-out-{self.uuid}"),
            asyncio.create_task(self._keepalive(), name=f"audiosocket-keepalive-{self.uuid}"),
        ]
        try:
            await self._read_loop()
        finally:
            self._close(self.end_reason or "closed")
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _read_loop(self) -> None:
        try:
            while not self.closed:
                frame = await read_frame(self._reader)
                if frame.kind is Kind.AUDIO:
                    self.frames_in += 1
                    self._events.put_nowait(ev.AudioIn(frame.payload, SAMPLE_RATE))
                elif frame.kind is Kind.DTMF:
                    digit = frame.payload.decode("ascii", "replace")
                    if digit in "0123456789*#ABCD":
                        self._events.put_nowait(ev.Dtmf(digit))
                elif frame.kind is Kind.HANGUP:
                    self.end_reason = "asterisk hangup"
                    return
                elif frame.kind is Kind.ERROR:
                    self.end_reason = f"asterisk error {frame.payload.hex()}"
                    return
                else:  # a second UUID frame
                    raise FrameError("UUID frame in the middle of a stream")
        except asyncio.IncompleteReadError as exc:
            self.end_reason = "eof" if not exc.partial else "truncated frame"
        except FrameError as exc:
            self.end_reason = f"protocol error: {exc}"
            log.warning("audiosocket %s: %s; closing the stream", self.uuid, exc)
        except (ConnectionError, OSError) as exc:
            self.end_reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            self.end_reason = self.end_reason or "cancelled"
            raise

    async def _keepalive(self) -> None:
        """A frame of silence when nothing was sent for a while."""
        silence = b"\x00" * FRAME_BYTES
        while not self.closed:
            idle = time.monotonic() - self._last_write
            if idle >= self.KEEPALIVE_S and not self.playout.playing:
                self._send(silence)
                idle = 0.0
            await asyncio.sleep(self.KEEPALIVE_S - idle)

    def _write_audio(self, payload: bytes) -> None:
        if self.first_audio_out is None:
            self.first_audio_out = time.monotonic()
        self._send(payload)

    def _send(self, payload: bytes) -> None:
        self._last_write = time.monotonic()
        try:
            # A peer that stopped reading would make this buffer grow forever.
            if self._writer.transport.get_write_buffer_size() > MAX_UNSENT:
                self._close("peer stopped reading")
                return
            self._writer.write(encode_frame(Kind.AUDIO, payload))
        except (OSError, RuntimeError):
            self._close("write failed")

    def _close(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.end_reason = self.end_reason or reason
        self._closed.set()
        self.playout.close()
        self._events.put_nowait(ev.Hangup())
        self._events.put_nowait(None)
        with contextlib.suppress(Exception):
            self._writer.close()


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections on host:port.

    A FastAGI call registers the UUID it passes to `AudioSocket()` with
    `expect()`; the connection that presents that UUID is handed to it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, *, handshake_timeout: float = 5.0):
        self.host = host
        self.port = port
        self.handshake_timeout = handshake_timeout
        self._pending: dict[str, asyncio.Future[AudioSocketStream]] = {}
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.streams = 0  # open streams
        self.rejected = 0  # connections closed for a protocol problem

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, limit=8192)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._handlers):
            t.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        for fut in self._pending.values():
            fut.cancel()
        self._pending.clear()

    def expect(self, call_uuid: str) -> asyncio.Future[AudioSocketStream]:
        """A future for the stream Asterisk will open with `call_uuid`."""
        key = str(uuidlib.UUID(call_uuid))
        fut: asyncio.Future[AudioSocketStream] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        return fut

    def forget(self, call_uuid: str) -> None:
        fut = self._pending.pop(str(uuidlib.UUID(call_uuid)), None)
        if fut is not None and not fut.done():
            fut.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            # Only streams someone waits for can be legitimate; a flood of
            # idle connections is closed at once.
            if len(self._handlers) > len(self._pending) + self.streams + 64:
                self.rejected += 1
                return
            await self._serve(reader, writer)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            first = await asyncio.wait_for(read_frame(reader), self.handshake_timeout)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
            self.rejected += 1
            return
        except FrameError as exc:
            log.warning("audiosocket: %s before the UUID; closing", exc)
            self.rejected += 1
            return
        if first.kind is not Kind.UUID:
            log.warning("audiosocket: first frame is %s, not the UUID; closing", first.kind.name)
            self.rejected += 1
            return
        key = str(uuidlib.UUID(bytes=first.payload))
        fut = self._pending.pop(key, None)
        if fut is None or fut.done():
            log.warning("audiosocket: unknown uuid %s; closing", key)
            self.rejected += 1
            return
        stream = AudioSocketStream(key, reader, writer)
        fut.set_result(stream)
        self.streams += 1
        try:
            await stream.run()
        finally:
            self.streams -= 1
