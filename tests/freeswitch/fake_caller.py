"""The caller's side of the stand-in FreeSWITCH (fake_fs.py): what the caller
says over the unicast leg, when (after each of the bot's turns), and what
they heard of the bot."""

from __future__ import annotations

import math
import struct
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field


def rms(pcm: bytes) -> float:
    n = len(pcm) // 2
    if not n:
        return 0.0
    samples = struct.unpack(f"<{n}h", pcm[: n * 2])
    return math.sqrt(sum(s * s for s in samples) / n)


@dataclass
class CallerScript:
    """What the caller does: speak these turns (L16 at 8 kHz), each after the bot's turn."""

    turns: list[bytes] = field(default_factory=list)
    dtmf: dict[int, str] = field(default_factory=dict)  # before turn i, press these keys
    quiet_s: float = 1.2  # the bot's turn is over after this much silence
    gap_s: float = 0.4
    answer_timeout_s: float = 60.0
    hang_up_after: bool = True  # when the turns run out and the bot waits, hang up


class CallerSide:
    """Mixed into FakeFreeSwitch: its park loop sends `_caller_frame()`, the caller script runs here."""

    _speech = b""

    def _caller_frame(self, size: int) -> bytes:
        with self._media_lock:
            chunk, self._speech = self._speech[:size], self._speech[size:]
        if len(chunk) < size:
            # A-law line silence decodes to +-8, not to digital zero.
            chunk += struct.pack("<h", 8) * ((size - len(chunk)) // 2)
        if not self._speech:
            self._caller_speaking.clear()
        return chunk

    def say(self, pcm: bytes) -> None:
        with self._media_lock:
            self._speech += pcm
        self._caller_speaking.set()

    def bot_loud_since(self, t: float, threshold: float = 300.0) -> float | None:
        """Time of the last loud bot packet after `t`."""
        last = None
        for at, data in self.bot_packets[-400:]:
            if at >= t and rms(data) > threshold:
                last = at
        return last

    def _timed_events(self) -> None:
        marks = []
        if self.codec_change_at_s is not None:
            marks.append((self.codec_change_at_s, self._codec_change))
        if self.external_app_at_s is not None:
            marks.append((self.external_app_at_s, self._external_app))
        if self.caller_hangup_at_s is not None:
            marks.append((self.caller_hangup_at_s, self.caller_hangs_up))
        if self.script is not None:
            threading.Thread(target=self._caller, daemon=True).start()
        for at, job in sorted(marks, key=lambda m: m[0]):
            while self.elapsed() < at and not self._done.is_set():
                time.sleep(0.02)
            if self._done.is_set() or self.hung_up.is_set():
                return
            job()

    def _codec_change(self) -> None:
        """Shutting down unicast; Changing Codec from PCMA@20ms to PCMA@30ms (observed)."""
        self._unicast_down()
        self.ptime_ms = 30

    def _external_app(self) -> None:
        """Someone else runs a playback on the channel (uuid_broadcast): no audio, then teardown."""
        self._execute("playback", "tone_stream://%(300,200,800);loops=3", str(uuidlib.uuid4()))

    def _caller(self) -> None:
        script = self.script
        assert script is not None
        while not self.answered and not self._done.is_set():
            time.sleep(0.02)
        for i, turn in enumerate(script.turns):
            if not self._wait_bot_turn(script):
                return
            time.sleep(script.gap_s)
            for digit in script.dtmf.get(i, ""):
                self.dtmf(digit)
                time.sleep(0.3)
            if turn:
                self.say(turn)
                while self._caller_speaking.is_set() and not self._done.is_set():
                    time.sleep(0.02)
            self.caller_turns_spoken += 1
        if script.hang_up_after and self._wait_bot_turn(script) and not self._done.is_set():
            time.sleep(2.0)
            if not self.hung_up.is_set() and not self.bridged_to and self.transferred_to is None:
                self.caller_hangs_up()

    def _wait_bot_turn(self, script: CallerScript) -> bool:
        """Until the bot has said something and then been quiet for a while."""
        start = time.monotonic()
        deadline = start + script.answer_timeout_s
        while time.monotonic() < deadline:
            if self._done.is_set() or self.hung_up.is_set() or self.bridged_to or self.transferred_to:
                return False
            last = self.bot_loud_since(start)
            if last is not None and time.monotonic() - last >= script.quiet_s:
                return True
            time.sleep(0.05)
        self.errors.append(f"the bot did not answer within {script.answer_timeout_s:.0f} s")
        return False

    def bot_audio_s(self, threshold: float = 300.0) -> float:
        loud = [d for _, d in self.bot_packets if rms(d) > threshold]
        return sum(len(d) for d in loud) / (2 * self.rate)
