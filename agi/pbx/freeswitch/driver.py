"""GreenCallSession: one live call on gevent (the FreeSWITCH worker's `CallSession`).

Same contract as `agi.session.CallSession`, on greenlets instead of asyncio
tasks: the sans-IO `CallController` sees every event through one queue, one
at a time, and the session executes its commands:

    Transcribe        -> the process's shared SttPool     -> Transcript
    Play              -> TTS in an OS thread pool -> port    -> PlaybackDone
    StopPlayback      -> cut the port's playout now
    StartTimer/Cancel -> gevent timers                       -> TimerFired
    Commit            -> the committer, in its own thread    -> CommitDone / CommitFailed
    Transfer, HangupCall, Log -> recorded / logged; the worker acts once the call core is done

Recognition and synthesis never run on the hub, so one call's speech work
never freezes another call's audio. As on Asterisk, recognition starts at
the caller's first short pause (agi/speech/early.py), so a reply does not
wait for the end-of-utterance silence and then for the whole decode, and a
second opinion the dialogue will want on that early reading is asked for at
once (agi.speech.early.EarlySecondOpinion); the
language is not spotted mid-sentence here: a caller's first sure utterance
fixes it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import gevent
import gevent.event
import gevent.queue

from agi import events as ev
from agi.pbx.freeswitch.threads import run_in_thread, spawn, wait_future
from agi.session import (
    CallLoop,
    Exchange,
    SessionResult,
    SpeechServices,
    recognised,
    second_opinion_exchange,
    second_reading,
    shared_speech,
    split_sentences,
)
from agi.speech.stt import SttRequest, SttResult, SttSettings
from agi.speech.tts import TtsError, voice_for

if TYPE_CHECKING:
    from agi.call import CallController
    from agi.tickets import Ticket

log = logging.getLogger("callticket.call")

CommitResult = ev.CommitDone | ev.CommitFailed
Committer = Callable[["Ticket", str], CommitResult]


class GreenMediaPort(Protocol):
    """A call's audio for a green session (`UnicastPort` is one)."""

    def attach(self, post: Callable[[ev.Event], None]) -> None:
        """Deliver AudioIn frames, Dtmf and finally Hangup to `post` (on the hub)."""

    def play(self, pcm: bytes) -> gevent.event.AsyncResult:
        """Queue slin at the call's rate; resolves True when sent, False when cut."""

    def stop_playback(self) -> None: ...


class GreenSpeech:
    """The process's recogniser and voices, reached from greenlets.

    One recogniser (and model) for the whole process, decoding in the
    process's shared `SttPool`: at most `pool_size` decodes at once, the
    caller who has waited longest first, as on Asterisk. One renderer per
    call sample rate.
    """

    def __init__(self, stt: SttSettings | None = None, tts_cache_dir: str | None = None, tts_workers: int = 2):
        self.stt_settings = stt
        self.tts_cache_dir = tts_cache_dir
        self.tts_workers = tts_workers
        self.stt = self.services(8000).stt
        self.recognizer = self.stt.recognizer
        self.tts_pool = ThreadPoolExecutor(max_workers=tts_workers, thread_name_prefix="tts-green")

    def services(self, sample_rate: int) -> SpeechServices:
        return shared_speech(self.stt_settings, sample_rate, self.tts_cache_dir, self.tts_workers)

    def warm(self, languages: Sequence[str]) -> list[str]:
        return self.recognizer.warm(languages)

    def transcribe(self, pcm: bytes, rate: int, language: str | None, hints: Sequence[str],
                   languages: Sequence[str], waiting_since: float | None = None, model: str | None = None) -> SttResult:
        """`waiting_since`: when (time.monotonic()) the caller stopped talking; `model`: a second opinion's."""
        future = self.stt.submit(SttRequest(pcm, rate, language, tuple(hints), tuple(languages),
                                            waiting_since=waiting_since, model=model))
        try:
            return wait_future(future)
        except BaseException:
            future.cancel()  # the call hung up first: a decode not yet started costs nothing
            raise

    def render(self, text: str, persona: Any, language: str, sample_rate: int) -> bytes:
        return run_in_thread(self.tts_pool, self._render, text, persona, language, sample_rate)

    def _render(self, text: str, persona: Any, language: str, sample_rate: int) -> bytes:
        speaker = self.services(sample_rate).speaker
        try:
            return speaker.render(text, persona, language)
        except TtsError as exc:
            # The persona's engine is missing: the call goes on in the language's default voice.
            log.warning("persona voice failed; default voice", extra={"fields": {"error": str(exc)}})
            return speaker.render(text, voice_for(None, language), language)


class GreenCallSession(CallLoop):
    def __init__(
        self,
        controller: CallController,
        port: GreenMediaPort,
        speech: GreenSpeech,
        *,
        sample_rate: int = 8000,
        persona: Any = None,
        on_commit: Committer | None = None,
        commit_pool: ThreadPoolExecutor | None = None,
        on_log: Callable[[ev.Log], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_call_s: float = 1800.0,
        commit_timeout_s: float = 30.0,
        early_pause_ms: int | None = 250,
    ):
        super().__init__(controller, persona)
        self.port = port
        self.speech = speech
        controller.second_opinion = any(speech.recognizer.second_model(lang) for lang in self.languages)
        # Recognition from the caller's first pause, and a second opinion
        # asked for from it when the dialogue would want one, as on Asterisk.
        self.early = self._early_recognizer(speech.stt, sample_rate, early_pause_ms)
        self._ask_second_opinions_early(self.early)
        self.sample_rate = sample_rate
        self.on_commit = on_commit
        self.commit_pool = commit_pool
        self.on_log = on_log
        self.clock = clock
        self.max_call_s = max_call_s
        self.commit_timeout_s = commit_timeout_s
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._timers: dict[str, gevent.Greenlet] = {}
        self._play: gevent.Greenlet | None = None
        self._stt_tail: gevent.Greenlet | None = None
        self._stt_pending = 0
        self._commits: set[gevent.Greenlet] = set()

    # ------------------------------------------------------------ public

    @property
    def busy(self) -> bool:
        playing = self._play is not None and not self._play.dead
        return bool(self._stt_pending or playing or self._commits)

    def run(self, started: ev.CallStarted) -> SessionResult:
        self.port.attach(self._from_port)
        deadline = gevent.spawn_later(self.max_call_s, self._time_up)
        try:
            self._dispatch(started, None)
            while not self._done:
                event, meta = self._queue.get()
                if isinstance(event, ev.Hangup) and not self.result.ended_by:
                    self.result.ended_by = "caller"
                self._dispatch(event, meta)
        finally:
            deadline.kill(block=False)
            self._shutdown()
        return self.result

    # ------------------------------------------------------------ events in

    def _from_port(self, event: ev.Event) -> None:
        now = self.clock()
        if isinstance(event, ev.AudioIn):
            if self.early is not None and event.sample_rate == self.early.endpointer.sample_rate:
                self.early.feed(event.pcm, self._language_for(self._stt_language), self._hints())
            self._post(event, now)
        elif isinstance(event, ev.Dtmf):
            self._post(event, Exchange(dtmf=event.digit, speech_end=now, decided=now))
        else:
            self._post(event, None)

    def _post(self, event: ev.Event, meta: Exchange | float | None) -> None:
        self._queue.put((event, meta))

    # ------------------------------------------------------------ commands out

    def _execute(self, command: ev.Command) -> None:
        if isinstance(command, ev.Transcribe):
            self._transcribe(command)
        elif isinstance(command, ev.Play):
            self.result.plays += 1
            self.result.spoken.append((self.clock(), command.play_id, command.text))
            self._play = spawn(self._speak, command, self._play)
        elif isinstance(command, ev.StopPlayback):
            self._stop_playback()
        elif isinstance(command, ev.StartTimer):
            old = self._timers.pop(command.name, None)
            if old is not None:
                old.kill(block=False)
            self._timers[command.name] = gevent.spawn_later(
                max(0.0, command.seconds), self._post, ev.TimerFired(command.name), None)
        elif isinstance(command, ev.CancelTimer):
            timer = self._timers.pop(command.name, None)
            if timer is not None:
                timer.kill(block=False)
        elif isinstance(command, ev.Commit):
            greenlet = spawn(self._commit, command)
            self._commits.add(greenlet)
            greenlet.link(self._commits.discard)
        elif isinstance(command, ev.Transfer):
            self.result.transfer = command
        elif isinstance(command, ev.HangupCall):
            self.result.hangup = command
        elif isinstance(command, ev.Log):
            if self.on_log is not None:
                self.on_log(command)
            else:
                log.info(command.event, extra={"fields": dict(command.fields)})

    # -- speech to text

    def _transcribe(self, command: ev.Transcribe) -> None:
        if command.second_opinion:
            self._stt_pending += 1
            self._stt_tail = spawn(self._second_opinion, command, self._stt_tail)
            return
        now = self.clock()
        times = self._frame_times
        # The endpointer decided after end_silence of quiet frames: the caller
        # stopped talking when the first of those frames arrived.
        speech_end = times[-self.end_silence_frames] if len(times) >= self.end_silence_frames else now
        exchange = Exchange(speech_end=speech_end, decided=now)
        self._stt_pending += 1
        language = self._language_for(command.language)
        if self.early_second is not None:
            self.early_second.turn_ended(command.pcm)
        # Claimed now, before the shadow endpointer sees another frame.
        early = self.early.claim(command.pcm, language, command.hints) if self.early else None
        self._stt_tail = spawn(self._recognise, command, language, exchange, self._stt_tail, early)

    def _recognise(self, command: ev.Transcribe, language: str | None, exchange: Exchange,
                   previous: gevent.Greenlet | None, early: Future[SttResult] | None = None) -> None:
        """`early`: the words already asked for at the caller's first pause."""
        try:
            try:
                if early is not None:
                    result: SttResult | None = wait_future(early)
                else:
                    result = self.speech.transcribe(command.pcm, command.sample_rate, language, command.hints,
                                                    self.languages, self._waiting_since(exchange))
            except gevent.GreenletExit:
                if early is not None:
                    early.cancel()  # the call ended first: words no one waits for
                raise
            except Exception as exc:  # noqa: BLE001 a broken utterance must not end the call
                log.warning("speech recognition failed", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})
                result = None
            if previous is not None:  # transcripts reach the dialogue in the order spoken
                previous.join()
            if result is None:
                exchange.dropped = "error"
                self._post(ev.Transcript("", command.language, 0.0), exchange)
                return
            self._learn_language(command.language, result)
            self._post(recognised(exchange, result), exchange)
        finally:
            self._stt_pending -= 1

    def _second_opinion(self, command: ev.Transcribe, previous: gevent.Greenlet | None) -> None:
        """The utterance the dialogue asked about again, by the other model (as on Asterisk)."""
        exchange = second_opinion_exchange(self.result)
        early = self.early_second.claim(command.pcm, command.hints) if self.early_second is not None else None
        try:
            model = self.speech.recognizer.second_model(command.language)
            result: SttResult | None = None
            if model is not None:
                try:
                    if early is not None:
                        result = wait_future(early)
                    else:
                        result = self.speech.transcribe(command.pcm, command.sample_rate, command.language,
                                                        command.hints, self.languages, self._waiting_since(exchange),
                                                        model)
                except gevent.GreenletExit:
                    if early is not None:
                        early.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 the first reading stands
                    log.warning("second opinion failed", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})
            if previous is not None:
                previous.join()
            self._post(second_reading(exchange, result, command.language), exchange)
        finally:
            self._stt_pending -= 1

    def _on_early_guess(self, pcm: bytes, language: str | None, hints: tuple[str, ...],
                        guess: Future[SttResult]) -> None:
        spawn(self._consider_when_done, pcm, language, hints, guess)

    def _consider_when_done(self, pcm: bytes, language: str | None, hints: tuple[str, ...],
                            guess: Future[SttResult]) -> None:
        with contextlib.suppress(Exception):  # dropped or failed: the turn's own decode stands
            wait_future(guess)
        self._consider_second(pcm, language, hints, guess)

    # -- playback

    def _speak(self, command: ev.Play, previous: gevent.Greenlet | None) -> None:
        interrupted = False
        try:
            if previous is not None and not previous.dead:
                previous.join()  # a second reply queues behind the first
            pending: list[gevent.event.AsyncResult] = []
            for sentence in split_sentences(command.text):
                pcm = self.speech.render(sentence, self.persona, command.language, self.sample_rate)
                if not pcm:
                    continue
                pending.append(self.port.play(pcm))
                exchange = self._play_exchange.pop(command.play_id, None)
                if exchange is not None:
                    exchange.first_audio = self.clock()
            interrupted = not all(result.get() for result in pending)
        except gevent.GreenletExit:
            interrupted = True  # cut before all of it was queued
        except TtsError as exc:
            log.error("speech synthesis failed", extra={"fields": {"error": str(exc)}})
        finally:
            if interrupted:
                self.result.cut_plays += 1
            self._post(ev.PlaybackDone(command.play_id, interrupted), None)

    def _stop_playback(self) -> None:
        self.port.stop_playback()
        if self._play is not None and not self._play.dead:
            self._play.kill(block=False)

    # -- commits

    def _commit(self, command: ev.Commit) -> None:
        result: CommitResult
        if self.on_commit is None or self.commit_pool is None:
            result = ev.CommitFailed("no POS is configured for this call")
        else:
            try:
                result = run_in_thread(self.commit_pool, self.on_commit, command.ticket, command.idempotency_key,
                                       timeout=self.commit_timeout_s)
            except gevent.Timeout:
                result = ev.CommitFailed(f"the order could not be queued within {self.commit_timeout_s:.0f} s")
            except Exception as exc:
                log.exception("commit failed")
                result = ev.CommitFailed(f"{type(exc).__name__}: {exc}")
        if self._done:
            self.controller.handle(result)  # the call ended: still record where the ticket went
        else:
            self._post(result, None)

    def _shutdown(self) -> None:
        for timer in self._timers.values():
            timer.kill(block=False)
        self._timers.clear()
        if self._play is not None and not self._play.dead:
            self.port.stop_playback()
            self._play.kill(block=False)
        if self._stt_tail is not None:
            self._stt_tail.kill(block=False)
        if self.early is not None:
            self.early.close()
        if self.early_second is not None:
            self.early_second.drop()
        if self._commits:  # a ticket the caller confirmed is never abandoned
            gevent.joinall(list(self._commits), timeout=self.commit_timeout_s + 1)
        while not self._queue.empty():  # late commit results still count
            event, _ = self._queue.get_nowait()
            if isinstance(event, (ev.CommitDone, ev.CommitFailed)):
                self.controller.handle(event)
