"""Endpointing: where a caller's utterance starts and ends, from 20 ms frames.

webrtcvad says, per frame, whether it sounds like a voice; the `Endpointer`
turns that flicker into two decisions a call needs:

* `SpeechStart` as soon as the caller has clearly started talking (about
  120 ms of voice), early enough to cut the bot's audio on barge-in;
* `UtteranceEnd(pcm)` once the caller has been quiet for `end_silence_ms`,
  carrying the whole utterance with ~300 ms of pre-roll so the first word is
  never clipped.

Pure computation: no clock, no I/O. Time is the count of samples fed, so a
replayed stream endpoints exactly as it did live.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Union

import numpy as np
import webrtcvad

FRAME_MS = 20
SUPPORTED_RATES = (8000, 16000, 32000, 48000)


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """The caller started talking; `at_ms` is stream time of the first voiced frame."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """One complete utterance (pre-roll included) of signed 16-bit PCM.

    `end_ms` is stream time where the last voiced frame ended (the caller's end
    of speech); the endpointer decided `end_silence_ms` later unless `forced`
    (the utterance reached `max_utterance_ms` while the caller kept talking).
    """

    pcm: bytes
    speech_ms: int
    end_ms: int
    forced: bool = False


@dataclass(frozen=True, slots=True)
class SpeechPause:
    """The caller has been quiet `pause_ms` mid-utterance: the utterance so far.

    Not an end: they may go on. A driver can start recognising this audio
    early and reuse the result if the utterance does end here.
    """

    pcm: bytes
    speech_ms: int


@dataclass(frozen=True, slots=True)
class SpeechDropped:
    """A start that did not become an utterance (a click, a cough): too short."""

    speech_ms: int


VadEvent = Union[SpeechStart, UtteranceEnd, SpeechPause, SpeechDropped]


class Endpointer:
    """Feed caller audio, get endpointing events.

    `feed()` accepts any number of bytes: partial frames are kept until the
    next call completes them, so clipped or oddly sized packets are handled
    without losing sample alignment.
    """

    def __init__(
        self,
        sample_rate: int = 8000,
        end_silence_ms: int = 600,
        min_speech_ms: int = 200,
        max_utterance_ms: int = 15000,
        preroll_ms: int = 300,
        aggressiveness: int = 2,
        start_ms: int = 120,
        min_level_dbfs: float = -50.0,
        pause_ms: int | None = None,
    ):
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"sample rate {sample_rate} Hz not supported by the VAD (use one of {SUPPORTED_RATES})")
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0-3, not {aggressiveness}")
        for name, value in (("end_silence_ms", end_silence_ms), ("start_ms", start_ms)):
            if value < FRAME_MS:
                raise ValueError(f"{name} must be at least {FRAME_MS} ms, not {value}")
        if max_utterance_ms <= start_ms:
            raise ValueError(f"max_utterance_ms ({max_utterance_ms}) must exceed start_ms ({start_ms})")
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate * 2 * FRAME_MS // 1000
        self.end_silence_frames = -(-end_silence_ms // FRAME_MS)
        self.min_speech_frames = max(1, -(-min_speech_ms // FRAME_MS))
        self.max_frames = max_utterance_ms // FRAME_MS
        self.start_frames = -(-start_ms // FRAME_MS)
        # Voice must fill start_frames of a slightly longer window: one frame of
        # webrtcvad flicker inside a word must not delay the start.
        self._window: deque[bool] = deque(maxlen=self.start_frames + 2)
        self._preroll: deque[bytes] = deque(maxlen=max(1, preroll_ms // FRAME_MS) + self._window.maxlen)
        # webrtcvad calls faint hiss "voice" now and then; below this RMS a
        # frame is silence whatever the VAD says.
        self._min_rms = 32768.0 * 10 ** (min_level_dbfs / 20)
        self._preroll_frames = max(1, preroll_ms // FRAME_MS)
        self.pause_frames = -(-pause_ms // FRAME_MS) if pause_ms else 0
        if self.pause_frames >= self.end_silence_frames:
            self.pause_frames = 0  # a pause that long is an end
        self._vad = webrtcvad.Vad(aggressiveness)
        self._pending = b""
        self._frames_seen = 0
        self._reset_utterance()

    # ------------------------------------------------------------ public

    @property
    def preroll_frames(self) -> int:
        return self._preroll_frames

    @property
    def in_speech(self) -> bool:
        return self._speaking

    @property
    def voiced_ms(self) -> int:
        """Voice heard so far in the utterance in progress (0 between utterances)."""
        return self._voiced * FRAME_MS if self._speaking else 0

    def so_far(self) -> bytes:
        """The utterance in progress, pre-roll included (empty between utterances)."""
        return b"".join(self._frames) if self._speaking else b""

    @property
    def position_ms(self) -> int:
        """Stream time: how much audio has been fed (whole frames)."""
        return self._frames_seen * FRAME_MS

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Process caller audio (normally one 20 ms frame) and return what happened."""
        if not isinstance(pcm, (bytes, bytearray, memoryview)):
            raise TypeError(f"caller audio must be bytes of 16-bit PCM, not {type(pcm).__name__}")
        data = self._pending + bytes(pcm)
        events: list[VadEvent] = []
        end = len(data) - len(data) % self.frame_bytes
        for i in range(0, end, self.frame_bytes):
            events += self._frame(data[i : i + self.frame_bytes])
        self._pending = data[end:]
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream (hang-up): close an utterance in progress, if long enough."""
        self._pending = b""
        if not self._speaking:
            return []
        return self._close(forced=False)

    def reset(self) -> None:
        """Forget everything heard so far (stream time keeps running)."""
        self._pending = b""
        self._window.clear()
        self._preroll.clear()
        self._reset_utterance()

    # ------------------------------------------------------------ internals

    def _reset_utterance(self) -> None:
        self._speaking = False
        self._frames: list[bytes] = []
        self._voiced = 0
        self._trailing_silence = 0
        self._last_voiced_end = 0

    def _is_voice(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        if float(np.sqrt(np.mean(samples * samples))) < self._min_rms:
            return False
        return self._vad.is_speech(frame, self.sample_rate)

    def _frame(self, frame: bytes) -> list[VadEvent]:
        self._frames_seen += 1
        voiced = self._is_voice(frame)
        if not self._speaking:
            return self._listen(frame, voiced)
        self._frames.append(frame)
        if voiced:
            self._voiced += 1
            self._trailing_silence = 0
            self._last_voiced_end = self.position_ms
        else:
            self._trailing_silence += 1
        if self._trailing_silence >= self.end_silence_frames:
            return self._close(forced=False)
        if self.pause_frames and self._trailing_silence == self.pause_frames and self._voiced >= self.min_speech_frames:
            return [SpeechPause(b"".join(self._trimmed()), self._voiced * FRAME_MS)]
        if len(self._frames) >= self.max_frames:
            return self._close(forced=True)
        return []

    def _listen(self, frame: bytes, voiced: bool) -> list[VadEvent]:
        self._preroll.append(frame)
        self._window.append(voiced)
        if sum(self._window) < self.start_frames:
            return []
        # Start: the utterance begins preroll_ms ahead of the first voiced frame
        # of the window, so soft onsets ("h", "s", "f") are kept.
        window = list(self._window)
        first_voiced = len(window) - window.index(True)
        keep = min(len(self._preroll), first_voiced + self._preroll_frames)
        self._frames = list(self._preroll)[-keep:]
        self._voiced = sum(window)
        self._speaking = True
        self._trailing_silence = 0
        self._last_voiced_end = self.position_ms
        self._window.clear()
        self._preroll.clear()
        return [SpeechStart(at_ms=self.position_ms - first_voiced * FRAME_MS)]

    def _trimmed(self) -> list[bytes]:
        # Keep a little of the trailing silence (as much as the pre-roll), not
        # all of it: the recogniser gains nothing from the rest.
        if self._trailing_silence > self._preroll_frames:
            return self._frames[: len(self._frames) - self._trailing_silence + self._preroll_frames]
        return self._frames

    def _close(self, forced: bool) -> list[VadEvent]:
        speech_ms = self._voiced * FRAME_MS
        if self._voiced < self.min_speech_frames:
            self._reset_utterance()
            return [SpeechDropped(speech_ms)]
        frames = self._frames if forced else self._trimmed()
        event = UtteranceEnd(b"".join(frames), speech_ms, self._last_voiced_end, forced)
        self._reset_utterance()
        return [event]
