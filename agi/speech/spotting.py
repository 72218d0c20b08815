"""Language spotting: tell the caller's language while they are still talking.

With several languages in a Playbook, a caller's words are decoded by the
multilingual model, which detects the language as it decodes: about twice
the time of the English model, all of it after the caller stopped. The
language itself needs only the first second of voice. Once an utterance has
that much, its audio so far goes to the recogniser for the language alone
(the encoder over that second and one decoder step, no words). A sure
answer (share >= 0.9) fixes the call's language before the utterance ends,
so it is decoded like every later one: in English by the English model,
started at the caller's first pause. Not sure: the utterance is decoded
with detection, as without spotting.

Under load the question may still be out when the caller pauses. The
session does not hold the words back for it: they are asked for at once in
the Playbook's first language (an early guess at the pause, or at the end
of the utterance), and kept if the answer agrees; another language or an
unsure answer drops them, and the utterance is decoded in that language or
with detection. The pool serves the longest wait first, and the question
was asked before the caller stopped talking, so it is answered first. It
costs about what it saves (on two cores: the second of voice about 0.25 s,
the English model's decode about 0.35 s, against about 0.6 s for the
multilingual model's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from agi.speech.stt import SttPool, SttResult
from agi.speech.vad import Endpointer


class LanguageSpotter:
    def __init__(self, stt: SttPool, languages: Sequence[str], after_ms: int = 1000, sure: float = 0.9,
                 on_spotted: Callable[[str], None] | None = None):
        self.stt = stt
        self.on_spotted = on_spotted  # told the language once, when it is spotted
        self.languages = tuple(languages)
        self.after_ms = after_ms
        self.sure = sure
        self.language: str | None = None  # spotted with a share of at least `sure`
        self.share: float | None = None
        self.tries = 0
        self._task: asyncio.Task[SttResult] | None = None
        self._tried = False  # in the utterance in progress

    def watch(self, endpointer: Endpointer) -> None:
        """Call after each frame fed to `endpointer`: asks once per utterance, after `after_ms` of voice."""
        if self.language is not None:
            return
        if not endpointer.in_speech:
            self._tried = False
            return
        if self._tried or endpointer.voiced_ms < self.after_ms:
            return
        self._tried = True
        self.tries += 1
        self._task = asyncio.ensure_future(
            self.stt.detect_language(endpointer.so_far(), endpointer.sample_rate, self.languages)
        )
        self._task.add_done_callback(self._done)

    @property
    def pending(self) -> asyncio.Task[SttResult] | None:
        """The question still out, if any: an utterance ending now waits for it."""
        return self._task if self._task is not None and not self._task.done() else None

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _done(self, task: asyncio.Task[SttResult]) -> None:
        if task.cancelled() or task.exception() is not None:
            return  # a failed guess costs nothing: the utterance is decoded with detection
        result = task.result()
        if self.language is None and result.language and (result.language_probability or 0.0) >= self.sure:
            self.language, self.share = result.language, result.language_probability
            if self.on_spotted is not None:
                self.on_spotted(result.language)
