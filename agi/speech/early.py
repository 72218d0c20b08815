"""Early recognition: start speech-to-text at the caller's first pause.

The endpointer waits `end_silence_ms` (600 ms by default) before it calls an
utterance finished; recognising only then puts that whole wait in front of
the recogniser's own time. Instead a shadow endpointer, fed the same frames
with the same settings, reports the utterance at a short pause (250 ms); its
audio is recognised right away, and when the real end comes a moment later
with the same audio (plus nothing but the silence that followed), that
result is used. If the caller went on talking, the early result is simply
not used. Early work is skipped when the pool is busy, so under load it
never delays other calls' utterances.

The guess is the pool's own `Future`, so the asyncio session (Asterisk) and
the gevent one (FreeSWITCH) each wait for it their own way.

`EarlySecondOpinion` goes one step further: when the early guess is a reading
the dialogue would want a second opinion on, the second model is asked at
once, not after the end-of-turn silence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from agi.speech.stt import SttPool, SttRequest, SttResult
from agi.speech.vad import Endpointer, SpeechPause, SpeechStart


@dataclass
class _Guess:
    pcm: bytes
    language: str | None
    hints: tuple[str, ...]
    future: Future[SttResult]


class EarlyRecognizer:
    def __init__(self, endpointer: Endpointer, stt: SttPool, languages: Sequence[str] = ()):
        if not endpointer.pause_frames:
            raise ValueError("the shadow endpointer needs pause_ms")
        self.endpointer = endpointer
        self.stt = stt
        self.languages = tuple(languages)
        frames = min(endpointer.end_silence_frames, endpointer.preroll_frames) - endpointer.pause_frames
        self._max_extra = max(0, frames) * endpointer.frame_bytes
        self._guess: _Guess | None = None
        # on_guess(pcm, language, hints, future): told of each early guess as it is asked for.
        self.on_guess: Callable[[bytes, str | None, tuple[str, ...], Future[SttResult]], None] | None = None
        self.started = 0
        self.used = 0

    def feed(self, pcm: bytes, language: str | None, hints: Sequence[str]) -> None:
        """`language`: the one to recognise a pause's words in (None: detect it)."""
        for event in self.endpointer.feed(pcm):
            if isinstance(event, SpeechPause):
                self._start(event.pcm, language, tuple(hints))
            elif isinstance(event, SpeechStart) and self._guess is not None:
                self._drop()

    def claim(self, pcm: bytes, language: str | None, hints: Sequence[str]) -> Future[SttResult] | None:
        """The early result for this utterance, when it was recognised from the same audio."""
        guess, self._guess = self._guess, None
        if guess is None:
            return None
        if self.same_utterance(guess.pcm, pcm) and guess.language == language and guess.hints == tuple(hints):
            self.used += 1
            return guess.future
        guess.future.cancel()
        return None

    def close(self) -> None:
        self._drop()

    def _start(self, pcm: bytes, language: str | None, hints: tuple[str, ...]) -> None:
        self._drop()
        if self.stt.waiting >= self.stt.size:
            return  # the pool is busy: early work would only delay other calls
        try:
            future = self.stt.submit(SttRequest(pcm, self.endpointer.sample_rate, language, hints, self.languages))
        except RuntimeError:
            return  # the pool is shutting down with the worker: the utterance's own decode will say so
        self.started += 1
        self._guess = _Guess(pcm, language, hints, future)
        if self.on_guess is not None:
            self.on_guess(pcm, language, hints, future)

    def unclaimed(self, future: Future[SttResult]) -> bool:
        """Whether this guess still waits for the end of its utterance (not claimed, not dropped)."""
        return self._guess is not None and self._guess.future is future

    def same_utterance(self, early_pcm: bytes, pcm: bytes) -> bool:
        """Whether `pcm`, the utterance the endpointer closed, is `early_pcm`
        plus nothing but the quiet that followed the pause."""
        return 0 <= len(pcm) - len(early_pcm) <= self._max_extra and pcm.startswith(early_pcm)

    def _drop(self) -> None:
        if self._guess is not None:
            self._guess.future.cancel()  # not started yet: it costs nothing
            self._guess = None


class EarlySecondOpinion:
    """A second opinion asked for from the early guess, while the caller's
    pause may still become the end of the turn. When the dialogue then asks
    for a second opinion on the same audio, this one is used; one call at a
    time the second model answers in about the time of the endpointer's
    silence. Skipped when the pool is busy, like the early guess itself."""

    def __init__(self, early: EarlyRecognizer):
        self.early = early
        self._asked: tuple[bytes, tuple[str, ...], Future[SttResult]] | None = None
        self.used = 0

    def consider(self, pcm: bytes, language: str | None, hints: tuple[str, ...], guess: Future[SttResult],
                 wanted: Callable[[SttResult], bool]) -> None:
        """`guess` is done: ask the second model now when `wanted(reading)` says
        the dialogue would ask for it, and the turn has not ended meanwhile."""
        if not guess.done() or guess.cancelled() or guess.exception() is not None or not self.early.unclaimed(guess):
            return  # the turn has ended meanwhile: its second opinion, if any, is asked for the usual way
        stt = self.early.stt
        model = stt.recognizer.second_model(language)
        result = guess.result()
        if model is None or not result.text or stt.waiting >= stt.size or not wanted(result):
            return
        self.drop()
        with contextlib.suppress(RuntimeError):  # the pool is shutting down with the worker
            request = SttRequest(pcm, self.early.endpointer.sample_rate, language, hints, self.early.languages,
                                 model=model)
            self._asked = (pcm, hints, stt.submit(request))

    def claim(self, pcm: bytes, hints: Sequence[str]) -> Future[SttResult] | None:
        """The second opinion already asked for this utterance, if any."""
        asked, self._asked = self._asked, None
        if asked is None:
            return None
        early_pcm, early_hints, future = asked
        if self.early.same_utterance(early_pcm, pcm) and early_hints == tuple(hints):
            self.used += 1
            return future
        future.cancel()
        return None

    def turn_ended(self, pcm: bytes) -> None:
        """The endpointer closed an utterance: a second opinion on audio it
        does not continue is dropped (the caller went on after that pause)."""
        if self._asked is not None and not self.early.same_utterance(self._asked[0], pcm):
            self.drop()

    def drop(self) -> None:
        if self._asked is not None:
            self._asked[2].cancel()
            self._asked = None
