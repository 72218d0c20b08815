"""An in-memory phone line: a media port for simulated calls and tests.

The caller side streams a 20 ms frame every 20 ms, like a PBX does: speech
when the caller has something to say, line silence otherwise, each frame
through the G.711 codec of a real trunk. The bot side is a paced playout
buffer whose frames are recorded with their times, so a test or a benchmark
sees exactly when the bot started talking and when it was cut.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

import numpy as np

from agi import events as ev
from agi.media import g711
from agi.media.frames import FRAME_MS, frame_bytes, line_noise, split_frames
from agi.media.playout import PlayoutBuffer


class LoopbackLine:
    def __init__(
        self,
        sample_rate: int = 8000,
        codec: str | None = "ulaw",
        noise_dbfs: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
        playout_speed: float = 1.0,
    ):
        self.sample_rate = sample_rate
        self.codec = codec
        self.clock = clock
        self.frame_size = frame_bytes(sample_rate)
        self._rng = np.random.default_rng(seed)
        self._noise_dbfs = noise_dbfs
        self._events: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        self._speech: deque[tuple[bytes, asyncio.Future[float] | None]] = deque()
        self._line_task: asyncio.Task[None] | None = None
        self._playout_task: asyncio.Task[None] | None = None
        self.playout = PlayoutBuffer(self._bot_frame, sample_rate, clock=clock, speed=playout_speed)
        self.bot_frames: list[tuple[float, bytes]] = []  # (clock time, frame) the caller heard
        self.cuts: list[tuple[float, int]] = []  # (clock time, caller frames sent) of each stop_playback()
        self.frames_sent = 0
        self.hung_up = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._line_task = asyncio.create_task(self._line(), name="loopback-line")
        self._playout_task = asyncio.create_task(self.playout.run(), name="loopback-playout")

    async def close(self) -> None:
        self.hang_up()
        self.playout.close()
        for task in (self._line_task, self._playout_task):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._line_task, self._playout_task) if t), return_exceptions=True)

    # ------------------------------------------------------------ media port (bot side)

    async def events(self) -> AsyncIterator[ev.Event]:
        while True:
            item = await self._events.get()
            if item is None:
                return
            yield item

    def play(self, pcm: bytes) -> asyncio.Future[bool]:
        return self.playout.play(pcm)

    def stop_playback(self) -> None:
        self.cuts.append((self.clock(), self.frames_sent))
        self.playout.cut()

    @property
    def bot_speaking(self) -> bool:
        return self.playout.playing

    # ------------------------------------------------------------ caller side

    def say(self, pcm: bytes) -> asyncio.Future[float]:
        """Queue caller speech; resolves with the clock time its last frame went out."""
        if self.codec:
            pcm = g711.through_line(pcm, self.codec)
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        frames = list(split_frames(pcm, self.sample_rate))
        for frame in frames[:-1]:
            self._speech.append((frame, None))
        self._speech.append((frames[-1] if frames else b"\x00" * self.frame_size, done))
        return done

    @property
    def pending_frames(self) -> int:
        """Caller speech frames queued but not sent yet."""
        return len(self._speech)

    def inject(self, event: ev.Event) -> None:
        """Deliver an event as a PBX driver would (say, a malformed frame)."""
        self._events.put_nowait(event)

    def dtmf(self, digit: str) -> None:
        self._events.put_nowait(ev.Dtmf(digit))

    def hang_up(self) -> None:
        if not self.hung_up:
            self.hung_up = True
            self._events.put_nowait(ev.Hangup())
            self._events.put_nowait(None)

    def heard_since(self, t: float) -> bytes:
        """The bot audio the caller heard from clock time t on."""
        return b"".join(frame for at, frame in self.bot_frames if at >= t)

    # ------------------------------------------------------------ internals

    def _silence(self) -> bytes:
        if self._noise_dbfs is None:
            return b"\x00" * self.frame_size
        pcm = line_noise(FRAME_MS, self._noise_dbfs, self.sample_rate, self._rng)
        return g711.through_line(pcm, self.codec) if self.codec else pcm

    def _bot_frame(self, frame: bytes) -> None:
        self.bot_frames.append((self.clock(), frame))

    async def _line(self) -> None:
        period = FRAME_MS / 1000
        next_t = self.clock()
        while not self.hung_up:
            if self._speech:
                frame, done = self._speech.popleft()
            else:
                frame, done = self._silence(), None
            self._events.put_nowait(ev.AudioIn(frame, self.sample_rate))
            self.frames_sent += 1
            if done is not None and not done.done():
                done.set_result(self.clock())
            next_t += period
            delay = next_t - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.2:  # the loop stalled; a real line would have dropped frames
                next_t = self.clock()
