"""CallSession: one live call on asyncio, shared by every audio driver.

The call core (`CallController`) is sans-IO: it takes events and returns
commands. A session binds it to a media port (caller frames in, paced bot
audio out) and executes the commands:

    Transcribe        -> the process's STT pool          -> Transcript
    Play              -> TTS (pool, cached) -> port       -> PlaybackDone
    StopPlayback      -> cut the port's playout now
    StartTimer/Cancel -> asyncio timers                   -> TimerFired
    Commit            -> the driver's committer           -> CommitDone / CommitFailed
    Transfer, HangupCall, Log -> the driver's callbacks

Every event reaches the controller through one queue, so it sees them one at
a time, in order, exactly as in `simulate`. Slow work (speech-to-text, speech
synthesis) runs in pools shared by all calls of the process; a session only
awaits it.

The session also measures what a caller notices: reply latency, from the end
of their speech to the first frame of the bot's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Protocol,
    Union,
)

from agi import events as ev
from agi.media.frames import FRAME_MS
from agi.speech.dtmf import DtmfDetector
from agi.speech.early import EarlyRecognizer, EarlySecondOpinion
from agi.speech.spotting import LanguageSpotter
from agi.speech.stt import (
    SttPool,
    SttResult,
    SttSettings,
    settings_from_env,
    shared_pool,
)
from agi.speech.tts import Speaker, TtsError, voice_for
from agi.speech.vad import Endpointer

if TYPE_CHECKING:
    from agi.call import CallController
    from agi.tickets import Ticket

log = logging.getLogger("callticket.call")


class MediaPort(Protocol):
    """What a driver gives a session: the call's audio, both ways.

    `events()` yields `AudioIn` frames (normally 20 ms), `Dtmf` and finally
    `Hangup`; `play()` queues slin at the call's rate and resolves True when
    its last sample went out, False when cut; `stop_playback()` cuts at once.
    (`agi.pbx.asterisk.audiosocket.AudioSocketStream` and
    `agi.media.loopback.LoopbackLine` are media ports.)
    """

    def events(self) -> AsyncIterator[ev.Event]: ...

    def play(self, pcm: bytes) -> Awaitable[bool]: ...

    def stop_playback(self) -> None: ...


CommitResult = Union[ev.CommitDone, ev.CommitFailed]
Committer = Callable[["Ticket", str], CommitResult | Awaitable[CommitResult]]
TransferHandler = Callable[[ev.Transfer], None | Awaitable[None]]
HangupHandler = Callable[[ev.HangupCall], None | Awaitable[None]]
LogHandler = Callable[[ev.Log], None]


# ------------------------------------------------------------ shared speech


@dataclass
class SpeechServices:
    """The process's recogniser pool, voice renderer and TTS pool."""

    stt: SttPool
    speaker: Speaker
    tts_pool: ThreadPoolExecutor

    def render(self, text: str, persona: Any, language: str) -> bytes:
        return self.speaker.render(text, persona, language)

    def warm(self, languages: Sequence[str] = ("en",)) -> list[str]:
        """Load the recogniser's model(s) now, not on a caller's first words."""
        return self.stt.recognizer.warm(languages)

    def prerender(self, playbook: Any, persona: Any = None) -> int:
        """Render a Playbook's fixed prompts (greeting, "Anything else?", ...) now."""
        from agi.dialogue.prompts import PROMPTS

        persona = persona if persona is not None else getattr(playbook, "persona", None)
        count = 0
        for language in getattr(playbook.business, "languages", ["en"]):
            texts = [t.get(language) for t in PROMPTS.values() if t.get(language) and "{" not in t.get(language, "")]
            greeting = playbook.greeting.get(language)
            if "{" not in greeting:
                texts.append(greeting)
            for text in texts:
                for sentence in split_sentences(text):
                    self.speaker.render(sentence, persona, language)
                    count += 1
        return count


_shared_speech: dict[tuple[Any, ...], SpeechServices] = {}
_shared_lock = threading.Lock()


def shared_speech(
    stt: SttSettings | None = None,
    sample_rate: int = 8000,
    tts_cache_dir: str | None = None,
    tts_workers: int = 2,
) -> SpeechServices:
    """One set of speech services per process and configuration: no model per call."""
    key = (stt, sample_rate, str(tts_cache_dir), tts_workers)
    with _shared_lock:
        services = _shared_speech.get(key)
        if services is None:
            services = _shared_speech[key] = SpeechServices(
                stt=shared_pool(stt or settings_from_env()),
                speaker=Speaker(sample_rate, tts_cache_dir),
                tts_pool=ThreadPoolExecutor(max_workers=tts_workers, thread_name_prefix="tts"),
            )
        return services


_SENTENCE_END = re.compile(r"(?<=[.?!。？！])\s+|(?<=[。？！])")


def split_sentences(text: str) -> list[str]:
    """Speak the first sentence while the rest renders; cache sentence by sentence."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


# ------------------------------------------------------------ records


@dataclass
class Exchange:
    """One thing the caller said (or keyed) and how fast the bot answered."""

    heard: str = ""
    language: str | None = None
    confidence: float = 0.0
    audio_ms: int = 0
    stt_ms: int = 0
    model: str | None = None  # the Whisper model that heard it
    second_heard: str | None = None  # what the second model heard, when the dialogue asked (ev.Transcribe);
    # `heard` is then the reading the bot answered
    dropped: str | None = None  # why STT returned nothing (no speech, filler, ...)
    dtmf: str | None = None
    speech_end: float = 0.0  # clock time the caller stopped talking (or keyed)
    decided: float = 0.0  # clock time the endpointer closed the utterance
    first_audio: float | None = None  # clock time of the reply's first frame
    bot: str = ""

    @property
    def latency_ms(self) -> int | None:
        """End of the caller's speech -> first audio of the reply."""
        return None if self.first_audio is None else round((self.first_audio - self.speech_end) * 1000)

    @property
    def processing_ms(self) -> int | None:
        """Endpointer decision -> first audio (recognition, dialogue, synthesis)."""
        return None if self.first_audio is None else round((self.first_audio - self.decided) * 1000)


@dataclass
class SessionResult:
    exchanges: list[Exchange] = field(default_factory=list)
    transfer: ev.Transfer | None = None
    hangup: ev.HangupCall | None = None
    ended_by: str = ""  # caller | bot | timeout | error
    plays: int = 0
    cut_plays: int = 0
    spoken: list[tuple[float, int, str]] = field(default_factory=list)  # (clock, play_id, text)

    @property
    def second_opinions(self) -> int:
        """Turns the second model heard again."""
        return sum(e.second_heard is not None for e in self.exchanges)


# ------------------------------------------------------------ the session


class CallLoop:
    """The bookkeeping every PBX driver does around the call controller.

    CallSession (asyncio) and the FreeSWITCH driver (gevent) differ in how
    they wait, speak and recognise; what an event does to the call record,
    which reply answers which caller turn and when the call is over is this
    one piece. Subclasses give `_post` (queue an event) and `_execute` (carry
    out a command), and `clock`, the time of their Exchange records.
    """

    clock: Callable[[], float]

    def __init__(self, controller: CallController, persona: Any = None):
        self.controller = controller
        playbook = controller.playbook
        self.persona = persona if persona is not None else getattr(playbook, "persona", None)
        self.languages: tuple[str, ...] = tuple(getattr(playbook.business, "languages", ("en",)))
        self._stt_language = self.languages[0] if len(self.languages) == 1 else None
        self.tuning = getattr(playbook, "speech", None)
        self.end_silence_ms = int(getattr(self.tuning, "end_silence_ms", 600))
        self.end_silence_frames = -(-self.end_silence_ms // FRAME_MS)
        self.result = SessionResult()
        self._frame_times: deque[float] = deque(maxlen=self.end_silence_frames + 8)
        self._play_exchange: dict[int, Exchange] = {}
        self._done = False
        # Detecting the language needs the (slower) multilingual model; once a
        # caller has spoken one language confidently (p >= 0.9), as many times
        # in a row as lock_language_after says, the call is in that language
        # (English then uses the faster English model). 0 never locks.
        self.lock_language_after = 1
        self.language: str | None = None
        self._streak: tuple[str | None, int] = (None, 0)
        # Set by a driver whose calls ask for second opinions at the caller's pause.
        self.early_second: EarlySecondOpinion | None = None

    def _post(self, event: ev.Event, meta: Exchange | float | None) -> None:
        raise NotImplementedError

    def _wants_second_opinion(self, result: SttResult) -> bool:
        """Whether the dialogue would ask for a second opinion on this reading."""
        return self.controller.wants_second_opinion(ev.Transcript(result.text, result.language, result.confidence))

    def _ask_second_opinions_early(self, early: EarlyRecognizer | None) -> None:
        """Where the caller's words are read at their first pause and the
        dialogue may want a second model's reading, ask for that one from the
        early guess too; the driver's `_on_early_guess` hands each guess, once
        done, to `_consider_second`."""
        if early is not None and self.controller.second_opinion:
            self.early_second = EarlySecondOpinion(early)
            early.on_guess = self._on_early_guess

    def _on_early_guess(self, pcm: bytes, language: str | None, hints: tuple[str, ...],
                        guess: Future[SttResult]) -> None:
        raise NotImplementedError

    def _consider_second(self, pcm: bytes, language: str | None, hints: tuple[str, ...],
                         guess: Future[SttResult]) -> None:
        """`guess` is done: ask for its second opinion now if the dialogue would want one."""
        if not self._done and self.early_second is not None:
            self.early_second.consider(pcm, language, hints, guess, self._wants_second_opinion)

    @property
    def early_seconds_used(self) -> int:
        """Second opinions taken from the early guess (not asked after the turn ended)."""
        return self.early_second.used if self.early_second is not None else 0

    def _early_recognizer(self, stt: SttPool, sample_rate: int, pause_ms: int | None) -> EarlyRecognizer | None:
        """Recognition from the caller's first pause (see agi/speech/early.py), or None
        when the Playbook's end of utterance is no longer than that pause."""
        tuning = self.tuning
        if not pause_ms or tuning is None or pause_ms >= self.end_silence_ms:
            return None
        # Mirrors the controller's endpointer (same settings, same frames).
        shadow = Endpointer(
            sample_rate=sample_rate,
            end_silence_ms=self.end_silence_ms,
            min_speech_ms=tuning.min_speech_ms,
            max_utterance_ms=tuning.max_utterance_ms,
            pause_ms=pause_ms,
        )
        return EarlyRecognizer(shadow, stt, self.languages)

    def _hints(self) -> tuple[str, ...]:
        """What the bot expects to hear now, as it will hint the utterance's decode."""
        hints = getattr(self.controller, "hints", None)
        if hints is None:
            hints = getattr(self.controller, "_last_hints", ())
        return tuple(hints)

    def _waiting_since(self, exchange: Exchange) -> float:
        """When the caller stopped talking, on the speech pool's clock (time.monotonic());
        `self.clock` is the session's own, which a test may replace."""
        return time.monotonic() - (self.clock() - exchange.speech_end)

    def _language_for(self, requested: str | None) -> str | None:
        """The language to recognise in: the Playbook's only one, or the caller's once known."""
        return requested or self.language

    def _learn_language(self, requested: str | None, result: SttResult) -> None:
        if requested is not None or self.language is not None or not self.lock_language_after:
            return
        if result.dropped or result.language is None or (result.language_probability or 0.0) < 0.9:
            self._streak = (None, 0)
            return
        language, count = self._streak
        count = count + 1 if language == result.language else 1
        self._streak = (result.language, count)
        if count >= self.lock_language_after:
            self.language = result.language

    def _execute(self, command: ev.Command) -> None:
        raise NotImplementedError

    def _time_up(self) -> None:
        if not self.result.ended_by:
            self.result.ended_by = "timeout"
        self._post(ev.Hangup(), None)

    def _dispatch(self, event: ev.Event, meta: Exchange | float | None) -> None:
        if self._done:
            return
        if isinstance(meta, float):
            self._frame_times.append(meta)  # when this frame arrived
        commands = self.controller.handle(event)
        if isinstance(event, ev.Transcript) and event.second_opinion and isinstance(meta, Exchange):
            settled = self.controller.settled_reading
            if settled is not None:
                meta.heard = settled.text  # the turn's words are the reading the bot answered
        attribute_reply(self.result, self._play_exchange, event, meta, commands)
        for command in commands:
            self._execute(command)
        if self.controller.finished:
            self._done = True
            if not self.result.ended_by:
                self.result.ended_by = "bot"


def second_opinion_exchange(result: "SessionResult") -> Exchange:
    """The turn a second opinion is about: the last transcript's (the
    controller asks for it on that transcript, before any other)."""
    heard = [e for e in result.exchanges if e.dtmf is None]
    return heard[-1] if heard else Exchange()


def second_reading(exchange: Exchange, result: SttResult | None, language: str | None) -> ev.Transcript:
    """Note the second opinion on the turn; the event for the dialogue (empty: the first reading stands)."""
    if result is None or not result.text:
        return ev.Transcript("", language, 0.0, second_opinion=True)
    exchange.second_heard = result.text
    exchange.stt_ms += result.compute_ms
    return ev.Transcript(result.text, result.language, result.confidence, second_opinion=True)


def recognised(exchange: Exchange, result: SttResult) -> ev.Transcript:
    """Note what the recogniser made of the caller's turn; the event for the dialogue."""
    exchange.heard = result.text
    exchange.language = result.language
    exchange.confidence = result.confidence
    exchange.audio_ms = result.audio_ms
    exchange.stt_ms = result.compute_ms
    exchange.model = result.model
    exchange.dropped = result.dropped
    return ev.Transcript(result.text, result.language, result.confidence)


class CallSession(CallLoop):
    def __init__(
        self,
        controller: CallController,
        port: MediaPort,
        speech: SpeechServices,
        *,
        persona: Any = None,
        on_commit: Committer | None = None,
        on_transfer: TransferHandler | None = None,
        on_hangup: HangupHandler | None = None,
        on_log: LogHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_call_s: float = 1800.0,
        commit_timeout_s: float = 30.0,
        early_pause_ms: int | None = 250,
        lock_language_after: int = 1,
        spot_language_after_ms: int | None = 1000,
        inband_dtmf: bool = False,
    ):
        super().__init__(controller, persona)
        self.port = port
        self.speech = speech
        self.lock_language_after = lock_language_after
        recognizer = speech.stt.recognizer
        controller.second_opinion = any(recognizer.second_model(lang) for lang in self.languages)
        self.early = self._early_recognizer(speech.stt, 8000, early_pause_ms)
        # A second opinion asked for as soon as the early guess is one the
        # dialogue would want another reading of.
        self._ask_second_opinions_early(self.early)
        # The language heard in the first second of voice locks the call as
        # one sure utterance would (see agi/speech/spotting.py).
        self.spotter: LanguageSpotter | None = None
        if (self.early is not None and spot_language_after_ms and lock_language_after == 1
                and self._stt_language is None and speech.stt.recognizer.detects(self.languages)):
            self.spotter = LanguageSpotter(speech.stt, self.languages, spot_language_after_ms,
                                           on_spotted=self._spotted)
        self.on_commit = on_commit
        self.on_transfer = on_transfer
        self.on_hangup = on_hangup
        self.on_log = on_log
        self.clock = clock
        self.max_call_s = max_call_s
        self.commit_timeout_s = commit_timeout_s
        # (event, the Exchange it answers, or an AudioIn frame's arrival time)
        self._queue: asyncio.Queue[tuple[ev.Event, Exchange | float | None]] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._play_task: asyncio.Task[None] | None = None
        self._stt_tail: asyncio.Task[None] | None = None
        self._stt_pending = 0
        self._commits: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Key tones in the audio itself (trunks without out-of-band DTMF).
        self._dtmf = DtmfDetector() if inband_dtmf else None

    # ------------------------------------------------------------ public

    @property
    def busy(self) -> bool:
        """Recognising, speaking or committing (a simulated caller waits for quiet)."""
        playing = self._play_task is not None and not self._play_task.done()
        return bool(self._stt_pending or playing or self._commits)

    async def run(self, started: ev.CallStarted) -> SessionResult:
        loop = asyncio.get_running_loop()
        pump = asyncio.create_task(self._pump(), name="call-media-in")
        deadline = loop.call_later(self.max_call_s, self._time_up)
        try:
            self._dispatch(started, None)
            while not self._done:
                event, meta = await self._queue.get()
                if isinstance(event, ev.Hangup) and not self.result.ended_by:
                    self.result.ended_by = "caller"
                self._dispatch(event, meta)
        finally:
            deadline.cancel()
            pump.cancel()
            await self._shutdown()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        return self.result

    # ------------------------------------------------------------ events in

    async def _pump(self) -> None:
        """Caller media -> the event queue; the end of the stream is a hang-up."""
        try:
            async for event in self.port.events():
                if isinstance(event, ev.AudioIn):
                    if self._dtmf is not None and event.sample_rate == self._dtmf.sample_rate:
                        key = self._dtmf.feed(event.pcm)
                        if key is not None:
                            now = self.clock()
                            self._post(ev.Dtmf(key), Exchange(dtmf=key, speech_end=now, decided=now))
                        if self._dtmf.sounding:  # the endpointer must not take a beep for a voice
                            event = ev.AudioIn(bytes(len(event.pcm)), event.sample_rate)
                    if self.early is not None and event.sample_rate == self.early.endpointer.sample_rate:
                        self.early.feed(event.pcm, self._guess_language(self._stt_language), self._hints())
                        if self.spotter is not None and self.language is None:
                            self.spotter.watch(self.early.endpointer)
                    self._post(event, self.clock())
                    continue
                if isinstance(event, ev.Dtmf):
                    self._post(event, Exchange(dtmf=event.digit, speech_end=self.clock(), decided=self.clock()))
                    continue
                self._post(event, None)
        finally:
            self._post(ev.Hangup(), None)

    def _spotted(self, language: str) -> None:
        if self.language is None:
            self.language = language

    def _spotting(self) -> asyncio.Task[SttResult] | None:
        """The language question still out, while the call's language is unknown."""
        return self.spotter.pending if self.spotter is not None and self.language is None else None

    def _guess_language(self, requested: str | None) -> str | None:
        """The language to start recognising in now. While the language
        question is out, the Playbook's first: most callers speak it, and the
        words are kept only if the answer agrees (see `_recognise`)."""
        language = self._language_for(requested)
        if language is None and self._spotting() is not None:
            return self.languages[0]
        return language

    def _post(self, event: ev.Event, meta: Exchange | float | None) -> None:
        self._queue.put_nowait((event, meta))

    # ------------------------------------------------------------ commands out

    def _execute(self, command: ev.Command) -> None:
        if isinstance(command, ev.Transcribe):
            self._transcribe(command)
        elif isinstance(command, ev.Play):
            self._play(command)
        elif isinstance(command, ev.StopPlayback):
            self._stop_playback()
        elif isinstance(command, ev.StartTimer):
            self._start_timer(command)
        elif isinstance(command, ev.CancelTimer):
            handle = self._timers.pop(command.name, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(command, ev.Commit):
            task = asyncio.create_task(self._commit(command), name="call-commit")
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
        elif isinstance(command, ev.Transfer):
            self.result.transfer = command
            self._spawn(self._callback(self.on_transfer, command))
        elif isinstance(command, ev.HangupCall):
            self.result.hangup = command
            self._spawn(self._callback(self.on_hangup, command))
        elif isinstance(command, ev.Log):
            self._log(command)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _callback(self, handler: Callable[[Any], Any] | None, command: Any) -> None:
        if handler is None:
            return
        try:
            outcome = handler(command)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("call command handler failed", extra={"fields": {"command": type(command).__name__}})

    def _log(self, command: ev.Log) -> None:
        if self.on_log is not None:
            self.on_log(command)
        else:
            log.info(command.event, extra={"fields": dict(command.fields)})

    # -- speech to text

    def _transcribe(self, command: ev.Transcribe) -> None:
        if command.second_opinion:
            self._stt_pending += 1
            self._stt_tail = asyncio.create_task(self._second_opinion(command, self._stt_tail), name="call-stt")
            return
        now = self.clock()
        # The endpointer decided after end_silence of quiet frames: the caller
        # stopped talking when the first of those frames arrived.
        times = self._frame_times
        speech_end = times[-self.end_silence_frames] if len(times) >= self.end_silence_frames else now
        exchange = Exchange(speech_end=speech_end, decided=now)
        previous = self._stt_tail
        self._stt_pending += 1
        language = self._language_for(command.language)
        if self.spotter is not None and self.language is None:
            self.spotter.utterance_ended(command.pcm, command.sample_rate)
        guess = self._guess_language(command.language)
        spotting = self._spotting()
        if self.early_second is not None:
            self.early_second.turn_ended(command.pcm)
        # Claimed now, before the shadow endpointer sees another frame.
        claimed = self.early.claim(command.pcm, guess, command.hints) if self.early else None
        early = asyncio.wrap_future(claimed) if claimed is not None else None
        if early is None and guess != language:
            early = self._decode(command, guess, exchange)
        self._stt_tail = asyncio.create_task(
            self._recognise(command, language, exchange, previous, early, spotting, guess), name="call-stt"
        )

    def _decode(self, command: ev.Transcribe, language: str | None, exchange: Exchange) -> asyncio.Future[SttResult]:
        return asyncio.ensure_future(self.speech.stt.transcribe(
            command.pcm, command.sample_rate, language, command.hints, self.languages, self._waiting_since(exchange)
        ))

    async def _recognise(
        self,
        command: ev.Transcribe,
        language: str | None,
        exchange: Exchange,
        previous: asyncio.Task[None] | None,
        early: asyncio.Future[SttResult] | None,
        spotting: asyncio.Task[SttResult] | None = None,
        early_language: str | None = None,
    ) -> None:
        """`early`: the words already asked for, in `early_language`: an early
        guess, or while the language question is out, the Playbook's first
        language. They stand if the answer to that question agrees."""
        try:
            try:
                if spotting is not None:
                    # Asked before the caller stopped talking; the words in the
                    # likely language are decoded meanwhile, not after it.
                    await asyncio.wait({spotting})
                    language = self._language_for(command.language)
                    if early is not None and language != early_language:
                        early.cancel()  # another language, or not sure: decoded as such below
                        early = None
                result: SttResult | None = await (early or self._decode(command, language, exchange))
            except Exception as exc:  # a broken utterance must not end the call
                log.warning("speech recognition failed", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})
                result = None
            if previous is not None:  # transcripts reach the dialogue in the order spoken
                with contextlib.suppress(Exception):
                    await previous
            if result is None:
                self._post(ev.Transcript("", command.language, 0.0), exchange)
                exchange.dropped = "error"
                return
            self._learn_language(command.language, result)
            self._post(recognised(exchange, result), exchange)
        finally:
            if early is not None:
                early.cancel()  # the call ended first: words no one waits for
            self._stt_pending -= 1

    def _on_early_guess(self, pcm: bytes, language: str | None, hints: tuple[str, ...],
                        future: Future[SttResult]) -> None:
        loop = asyncio.get_running_loop()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(self._consider_second, pcm, language, hints,
                                                                        done))

    async def _second_opinion(self, command: ev.Transcribe, previous: asyncio.Task[None] | None) -> None:
        """The utterance the dialogue asked about again, by the other model;
        its exchange (the turn the caller waits on) is the first reading's."""
        exchange = second_opinion_exchange(self.result)
        claimed = self.early_second.claim(command.pcm, command.hints) if self.early_second is not None else None
        early = asyncio.wrap_future(claimed) if claimed is not None else None
        try:
            model = self.speech.stt.recognizer.second_model(command.language)
            result: SttResult | None = None
            if model is not None:
                try:
                    result = await (early or self.speech.stt.transcribe(
                        command.pcm, command.sample_rate, command.language, command.hints, self.languages,
                        self._waiting_since(exchange), model=model))
                except Exception as exc:  # the first reading stands
                    log.warning("second opinion failed", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            self._post(second_reading(exchange, result, command.language), exchange)
        finally:
            self._stt_pending -= 1

    # -- playback

    def _play(self, command: ev.Play) -> None:
        self.result.plays += 1
        self.result.spoken.append((self.clock(), command.play_id, command.text))
        previous = self._play_task
        self._play_task = asyncio.create_task(self._speak(command, previous), name="call-play")

    async def _speak(self, command: ev.Play, previous: asyncio.Task[None] | None) -> None:
        loop = asyncio.get_running_loop()
        interrupted = False
        try:
            if previous is not None and not previous.done():
                # A second reply queues behind the first (the port plays in order).
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.shield(previous)
            pending: list[Awaitable[bool]] = []
            for sentence in split_sentences(command.text):
                pcm = await loop.run_in_executor(self.speech.tts_pool, self._render, sentence, command.language)
                if not pcm:
                    continue
                pending.append(self.port.play(pcm))
                exchange = self._play_exchange.pop(command.play_id, None)
                if exchange is not None:
                    exchange.first_audio = self.clock()
            interrupted = not all(await asyncio.gather(*pending)) if pending else False
        except asyncio.CancelledError:
            interrupted = True  # cut before all of it was queued
        except TtsError as exc:
            log.error("speech synthesis failed", extra={"fields": {"error": str(exc)}})
        finally:
            if interrupted:
                self.result.cut_plays += 1
            self._post(ev.PlaybackDone(command.play_id, interrupted), None)

    def _render(self, text: str, language: str) -> bytes:
        try:
            return self.speech.render(text, self.persona, language)
        except TtsError as exc:
            # The persona's engine is missing (say piper without a voice file):
            # the call goes on in the language's default voice.
            default = voice_for(None, language)
            log.warning("persona voice failed; default voice", extra={"fields": {"error": str(exc)}})
            return self.speech.render(text, default, language)

    def _stop_playback(self) -> None:
        self.port.stop_playback()
        if self._play_task is not None and not self._play_task.done():
            self._play_task.cancel()

    # -- timers and commits

    def _start_timer(self, command: ev.StartTimer) -> None:
        old = self._timers.pop(command.name, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[command.name] = loop.call_later(
            max(0.0, command.seconds), self._post, ev.TimerFired(command.name), None
        )

    async def _commit(self, command: ev.Commit) -> None:
        result: CommitResult
        if self.on_commit is None:
            result = ev.CommitFailed("no POS is configured for this call")
        else:
            try:
                outcome = self.on_commit(command.ticket, command.idempotency_key)
                if inspect.isawaitable(outcome):
                    outcome = await asyncio.wait_for(outcome, self.commit_timeout_s)
                result = outcome  # type: ignore[assignment]
            except TimeoutError:
                result = ev.CommitFailed(f"the order could not be queued within {self.commit_timeout_s:.0f} s")
            except Exception as exc:
                log.exception("commit failed")
                result = ev.CommitFailed(f"{type(exc).__name__}: {exc}")
        if self._done:
            # The call already ended (the caller hung up): the controller still
            # records where the ticket went.
            self.controller.handle(result)
        else:
            self._post(result, None)

    async def _shutdown(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._play_task is not None and not self._play_task.done():
            self.port.stop_playback()
            self._play_task.cancel()
        if self._stt_tail is not None:
            self._stt_tail.cancel()
        if self.early is not None:
            self.early.close()
        if self.early_second is not None:
            self.early_second.drop()
        if self.spotter is not None:
            self.spotter.close()
        if self._commits:  # a ticket the caller confirmed is never abandoned
            await asyncio.wait(set(self._commits), timeout=self.commit_timeout_s + 1)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        # Late events (a commit result posted before the end) still count.
        while not self._queue.empty():
            event, _ = self._queue.get_nowait()
            if isinstance(event, (ev.CommitDone, ev.CommitFailed)):
                self.controller.handle(event)


def attribute_reply(
    result: SessionResult,
    play_exchange: dict[int, Exchange],
    event: ev.Event,
    meta: Any,
    commands: Sequence[ev.Command],
) -> None:
    """Record which caller turn the bot's next words answer (both PBX drivers).

    A transcript or key press opens a turn and the Play it causes is its
    reply; after the caller's final "yes" the reply waits for the POS, so the
    Play that CommitDone/CommitFailed causes still answers that turn.
    """
    if isinstance(event, (ev.Transcript, ev.Dtmf)) and isinstance(meta, Exchange):
        if not any(e is meta for e in result.exchanges):  # a second opinion answers a turn already open
            result.exchanges.append(meta)
        exchange = meta
    elif isinstance(event, (ev.CommitDone, ev.CommitFailed)) and result.exchanges and not result.exchanges[-1].bot:
        exchange = result.exchanges[-1]
    else:
        return
    play = next((c for c in commands if isinstance(c, ev.Play)), None)
    if play is not None:
        exchange.bot = play.text
        play_exchange[play.play_id] = exchange


def call_record(public: dict[str, Any], outcome: str | None, result: "SessionResult",
                language: str | None = None) -> dict[str, Any]:
    """The call record of a finished call: the simulate JSON shape, each turn
    what was heard with the bot's answer to it (the first turn: the greeting),
    and the language the call was held in."""
    first_heard = result.exchanges[0].speech_end if result.exchanges else float("inf")
    greeting = " ".join(text for at, _, text in result.spoken if at < first_heard)
    turns: list[dict[str, Any]] = [{"heard": "", "bot": greeting, "latency_ms": 0}]
    turns += [
        {"heard": e.heard or (f"DTMF {e.dtmf}" if e.dtmf else ""), "bot": e.bot, "latency_ms": e.latency_ms,
         "dropped": e.dropped}
        for e in result.exchanges
    ]
    return {**public, "outcome": outcome, "turns": turns, "language": language}


def first_audio_latencies(exchanges: Iterable[Exchange]) -> list[int]:
    return [e.latency_ms for e in exchanges if e.latency_ms is not None]
