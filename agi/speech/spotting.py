"""Language spotting: tell the caller's language while they are still talking.

With several languages in a Playbook, a caller's words are decoded by the
multilingual model, which detects the language as it decodes: about twice
the time of the English model, all of it after the caller stopped. The
language itself needs only a second or so of voice. Once an utterance has
that much, its audio so far goes to the recogniser for the language alone
(the encoder over that audio and one decoder step, no words), and again half
a second of voice later, or at the caller's pause when that comes first
(the whole utterance). When two looks in a row are sure (share >= 0.9) of
the same language, it fixes the call's language before the utterance ends,
so the utterance is decoded like every later one: in English by the English
model, started at the caller's first pause. Otherwise the utterance is
decoded with detection, as without spotting.

Why two looks: one second of voice says too little for one look to be
trusted, and a wrong lock sends a caller to the wrong model for the whole
call. On the Asterisk core prompts recorded in Spanish (Allison's voice, 248
with a second of voice or more; `callticket bench stt --model base --spot
1000 --prompts DIR --json`, 2026-12-07, 2-core AMD EPYC with AVX-512), a
single look at one second was sure of English for 15% of them, under AVX2
and AVX-512 kernels alike (CT2_FORCE_CPU_ISA), and which prompts it was sure
of moved with the instruction set; two agreeing looks lock 6-7% wrongly (the
whole utterance's own detection: 4% of them) and still spot 93% of the sample
calls' English turns (one look: 93-94%) and 89-90% of the English prompts
(one look: 91%).

Under load a question may still be out when the caller pauses. The session
does not hold the words back for it: they are asked for at once in the
Playbook's first language (an early guess at the pause, or at the end of the
utterance), and kept if the answer agrees; another language or an unsure
answer drops them, and the utterance is decoded in that language or with
detection. The pool serves the longest wait first, and the question was
asked before the caller stopped talking, so it is answered first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from agi.speech.stt import SttPool, SttResult
from agi.speech.vad import Endpointer, UtteranceEnd


class Looks:
    """The language sure looks in a row agree on (the rule, apart from the asking)."""

    def __init__(self, sure: float = 0.9, agree: int = 2):
        self.sure = sure
        self.agree = agree
        self._run: tuple[str | None, int] = (None, 0)

    @property
    def run(self) -> int:
        """Sure looks in a row so far, all of one language."""
        return self._run[1]

    def add(self, language: str | None, share: float | None) -> str | None:
        """One more look; the language once `agree` sure looks in a row named it."""
        if language is None or (share or 0.0) < self.sure:
            self._run = (None, 0)
            return None
        last, count = self._run
        self._run = (language, count + 1 if language == last else 1)
        return language if self._run[1] >= self.agree else None


class LanguageSpotter:
    def __init__(self, stt: SttPool, languages: Sequence[str], after_ms: int = 1000, sure: float = 0.9,
                 on_spotted: Callable[[str], None] | None = None, again_ms: int = 500, agree: int = 2):
        self.stt = stt
        self.on_spotted = on_spotted  # told the language once, when it is spotted
        self.languages = tuple(languages)
        # An utterance is looked at after these amounts of voice.
        self.look_at_ms = (after_ms, after_ms + again_ms) if again_ms else (after_ms,)
        self.sure = sure
        self.looks = Looks(sure, agree)
        self.language: str | None = None  # spotted: `agree` sure looks in a row named it
        self.share: float | None = None  # of the last of those looks
        self.tries = 0
        self.seen: list[tuple[str | None, float | None]] = []  # each look's (language, share), in order
        self._task: asyncio.Task[SttResult] | None = None
        self._looked = 0  # looks taken in the utterance in progress
        self._looked_before = 0  # in the one that just ended

    def watch(self, endpointer: Endpointer) -> None:
        """Call after each frame fed to `endpointer`: asks after each of `look_at_ms` of voice."""
        if self.language is not None:
            return
        if not endpointer.in_speech:
            if self._looked:
                self._looked_before, self._looked = self._looked, 0
            return
        if self._looked >= len(self.look_at_ms) or endpointer.voiced_ms < self.look_at_ms[self._looked]:
            return
        if self._task is not None and not self._task.done():
            return  # the last look is still out: its answer comes first (looks are counted in order)
        self._looked += 1
        self.tries += 1
        self._task = asyncio.ensure_future(
            self.stt.detect_language(endpointer.so_far(), endpointer.sample_rate, self.languages)
        )
        self._task.add_done_callback(self._done)

    def utterance_ended(self, pcm: bytes, sample_rate: int) -> None:
        """The caller paused after one look (a short sentence, or a look that queued
        under load): the second look is at the whole utterance, now."""
        looked = self._looked or self._looked_before
        self._looked = self._looked_before = 0
        first_out = self._task is not None and not self._task.done()
        if self.language is None and looked == 1 and (first_out or self.looks.run == 1):
            self.tries += 1
            self._task = asyncio.ensure_future(self.stt.detect_language(pcm, sample_rate, self.languages))
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
            self.looks.add(None, None)  # a failed look costs nothing but the run of sure ones
            return
        result = task.result()
        self.seen.append((result.language, result.language_probability))
        spotted = self.looks.add(result.language, result.language_probability)
        if self.language is None and spotted is not None:
            self.language, self.share = spotted, result.language_probability
            if self.on_spotted is not None:
                self.on_spotted(spotted)


async def spot(stt: SttPool, pcm: bytes, languages: Sequence[str], sample_rate: int = 8000,
               after_ms: int = 1000, again_ms: int = 500) -> LanguageSpotter:
    """A caller saying `pcm` (8 kHz slin), as a call's spotter watches it, each look
    answered before the next frame: what spotting makes of a recording
    (`bench stt --spot`, the tests)."""
    spotter = LanguageSpotter(stt, languages, after_ms, again_ms=again_ms)
    endpointer = Endpointer(sample_rate=sample_rate)
    frames = [pcm[i : i + endpointer.frame_bytes] for i in range(0, len(pcm), endpointer.frame_bytes)]
    for frame in frames:
        events = endpointer.feed(frame)
        spotter.watch(endpointer)
        for event in events + (endpointer.flush() if frame is frames[-1] else []):
            if isinstance(event, UtteranceEnd):
                spotter.utterance_ended(event.pcm, sample_rate)
        if spotter.pending is not None:
            await asyncio.wait({spotter.pending})
    return spotter
