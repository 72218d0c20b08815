"""Paced playout: the bot's audio leaves on the 20 ms clock and can be cut at once.

A phone line plays what it receives as it arrives, so a driver must not
write a whole prompt in one go: the caller would hear it garbled or the PBX
would drop it, and a barge-in could not stop what was already sent. The
buffer holds the reply and hands the line one frame per period; `cut()`
empties it, so at most the frame already written still plays.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from agi.media.frames import FRAME_MS, frame_bytes


class PlayoutBuffer:
    def __init__(
        self,
        sink: Callable[[bytes], None],
        sample_rate: int = 8000,
        frame_ms: int = FRAME_MS,
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
    ):
        if speed <= 0:
            raise ValueError(f"playout speed must be positive, not {speed}")
        self.sink = sink
        self.speed = speed  # above 1 only for simulated listeners, never a real line
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frame_size = frame_bytes(sample_rate, frame_ms)
        self.clock = clock
        self._frames: deque[bytes] = deque()
        self._marks: deque[tuple[int, asyncio.Future[bool]]] = deque()  # (frame count, future)
        self._queued = 0  # frames ever queued
        self._written = 0  # frames written or dropped
        self._wake = asyncio.Event()
        self._closed = False
        self.frames_written = 0
        self.frames_cut = 0
        self.last_write: float | None = None  # clock time of the last frame written

    @property
    def playing(self) -> bool:
        return bool(self._frames)

    @property
    def queued_ms(self) -> int:
        return len(self._frames) * self.frame_ms

    def play(self, pcm: bytes) -> asyncio.Future[bool]:
        """Queue audio; the future is True once its last frame is written, False if cut."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._closed:
            done.set_result(False)
            return done
        if len(pcm) % 2:
            raise ValueError(f"16-bit PCM must have an even number of bytes, got {len(pcm)}")
        for i in range(0, len(pcm), self.frame_size):
            chunk = pcm[i : i + self.frame_size]
            if len(chunk) < self.frame_size:
                chunk += b"\x00" * (self.frame_size - len(chunk))
            self._frames.append(chunk)
            self._queued += 1
        self._marks.append((self._queued, done))
        self._resolve(cut=False)  # empty audio is done at once
        self._wake.set()
        return done

    def cut(self) -> int:
        """Drop everything queued now; returns how many frames were dropped."""
        dropped = len(self._frames)
        self.frames_cut += dropped
        self._written += dropped
        self._frames.clear()
        self._resolve(cut=True)
        return dropped

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._wake.set()

    async def run(self) -> None:
        """Write frames on the clock until `close()`."""
        period = self.frame_ms / 1000 / self.speed
        next_t = self.clock()
        while not self._closed:
            if not self._frames:
                self._wake.clear()
                await self._wake.wait()
                next_t = max(next_t, self.clock())
                continue
            frame = self._frames.popleft()
            self._written += 1
            self.frames_written += 1
            self.last_write = self.clock()
            self.sink(frame)
            self._resolve(cut=False)
            next_t += period
            delay = next_t - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:  # the loop stalled: restart the clock rather than burst
                next_t = self.clock()

    def _resolve(self, cut: bool) -> None:
        while self._marks and (cut or self._marks[0][0] <= self._written):
            _, fut = self._marks.popleft()
            if not fut.done():
                fut.set_result(not cut)
