"""CallController: the sans-IO state machine of one call.

Events in, commands out (agi.events). It owns the endpointer (pure
computation on 20 ms frames), the dialogue engine and the call's lifecycle:
greeting, listening, barge-in, the wait for a transcript, the final words and
then the transfer or hang-up. It never reads a clock: timers are commands and
`now` is given when the call starts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable

from agi import events as ev
from agi.catalog import Catalog
from agi.dialogue import lexicon
from agi.dialogue.engine import DialogueEngine
from agi.dialogue.replies import Action, ActionKind, Reply
from agi.playbook import LoadedPlaybook
from agi.tickets import Ticket

SILENCE_TIMER = "silence"


# How much surer (mean token probability) tiny.en must be of its reading for
# it to stand against the multilingual model's second opinion when the bot
# would make sense of both. Of the 185 utterances in the sample calls whose
# two readings had different numbers of words wrong, the rule picked the one
# with fewer in 148; always taking the second opinion would have in 135
# (`callticket bench stt --second-opinion`).
CONFIDENCE_MARGIN = 0.05


def _letters(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def idempotency_key(business_id: str, call_id: str) -> str:
    """One key per call: a retried commit of the same call is the same order."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"callticket:{business_id}:{call_id}").hex


class CallController:
    def __init__(
        self,
        loaded: LoadedPlaybook,
        catalog: Callable[[], Catalog] | Catalog | None = None,
        *,
        now: datetime,
        call_id: str | None = None,
        recent_hangups: int = 0,
        endpointer_factory: Callable[[int], Any] | None = None,
        second_opinion: bool = False,
    ):
        self.loaded = loaded
        self.playbook = loaded.playbook
        # Default: the Playbook's catalog as it is now (a vendor POS's, live in
        # the catalog store), read once per event so one turn sees one catalog
        # and the next turn sees any change (an item 86'd by a webhook).
        if catalog is None:
            self._catalog_source: Callable[[], Catalog] = loaded.current_catalog
        elif callable(catalog):
            self._catalog_source = catalog
        else:
            self._catalog_source = lambda: catalog
        self._turn_catalog: Catalog | None = None
        self.now = now
        self.call_id = call_id or uuid.uuid4().hex
        self.recent_hangups = recent_hangups
        self._endpointer_factory = endpointer_factory
        self._endpointer: Any = None
        self.engine: DialogueEngine | None = None
        self.finished = False
        self.outcome: str | None = None
        self.ticket: Ticket | None = None
        self.transfer: dict[str, str] | None = None
        self.pos: dict[str, Any] | None = None
        self.refusal: str | None = None
        self.turns: list[dict[str, str]] = []
        self._play_id = 0
        self._playing: int | None = None
        self._after_play: list[ev.Command] = []
        self._closing = False
        self._awaiting_transcript = 0
        self._commit_pending = False
        # Ask for a second opinion on an utterance the dialogue cannot make
        # sense of, or that corrects the bot (see ev.Transcribe); a driver
        # whose recogniser has no second model answers with nothing.
        self.second_opinion = second_opinion
        self._utterance: ev.Transcribe | None = None  # the last one sent to speech-to-text
        self._first_reading: ev.Transcript | None = None  # while its second opinion is out
        self.settled_reading: ev.Transcript | None = None  # the reading the last second opinion settled on

    # ------------------------------------------------------------ public

    @property
    def language(self) -> str:
        return self.engine.state.language if self.engine else self.playbook.business.languages[0]

    def handle(self, event: ev.Event) -> list[ev.Command]:
        if self.finished and not isinstance(event, (ev.CommitDone, ev.CommitFailed)):
            return []
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is None:
            raise TypeError(f"not a call event: {event!r}")
        self._turn_catalog = None
        try:
            return handler(event)
        except Exception as exc:  # a bug must never strand a caller in silence
            return self._fail_safe(exc)
        finally:
            self._turn_catalog = None

    def result(self) -> dict[str, Any]:
        """The simulate JSON contract, minus `turns` (the driver adds timings)."""
        return {
            "outcome": self.outcome,
            "ticket": self.ticket.to_public() if self.ticket and self.outcome == "committed" else None,
            "transfer": self.transfer,
            "pos": self.pos,
        }

    def _catalog(self) -> Catalog:
        """The catalog of the event being handled (what the dialogue engine reads)."""
        if self._turn_catalog is None:
            self._turn_catalog = self._catalog_source()
        return self._turn_catalog

    # ------------------------------------------------------------ events

    def _on_CallStarted(self, event: ev.CallStarted) -> list[ev.Command]:
        if self.engine is not None:
            return []
        if event.call_id:
            self.call_id = event.call_id
        self.engine = DialogueEngine(
            self.loaded,
            self._catalog,
            now=self.now,
            caller=event.caller_number,
            language=event.language,
            recent_hangups=self.recent_hangups,
        )
        reply = self.engine.start()
        self.turns.append({"heard": "", "bot": reply.text})
        return self._apply(reply)

    def _on_AudioIn(self, event: ev.AudioIn) -> list[ev.Command]:
        if self._closing:
            return []
        if self._endpointer is None:
            self._endpointer = self._make_endpointer(event.sample_rate)
        out: list[ev.Command] = []
        for vad_event in self._endpointer.feed(event.pcm):
            name = type(vad_event).__name__
            if name == "SpeechStart":
                out += self._on_SpeechStarted(ev.SpeechStarted())
            elif name == "UtteranceEnd":
                out += self._on_SpeechEnded(ev.SpeechEnded(vad_event.pcm, event.sample_rate))
        return out

    def _on_SpeechStarted(self, event: ev.SpeechStarted) -> list[ev.Command]:
        out: list[ev.Command] = [ev.CancelTimer(SILENCE_TIMER)]
        if self._playing is not None and not self._closing:
            # Barge-in: the caller talks over the bot; stop at once and listen.
            out.append(ev.StopPlayback())
        return out

    def _on_SpeechEnded(self, event: ev.SpeechEnded) -> list[ev.Command]:
        if self._closing:
            return []
        self._awaiting_transcript += 1
        hints = self._last_hints
        self._utterance = ev.Transcribe(event.pcm, event.sample_rate, self._stt_language(), hints)
        return [self._utterance]

    def _on_Transcript(self, event: ev.Transcript) -> list[ev.Command]:
        self._awaiting_transcript = max(0, self._awaiting_transcript - 1)
        if self._closing or self.engine is None:
            return []
        first, self._first_reading = self._first_reading, None
        if event.second_opinion:
            self.settled_reading = self._better_reading(first, event) if first is not None else None
            return self._hear(self.settled_reading) if self.settled_reading is not None else []
        out = self._hear(first) if first is not None else []  # a later utterance came first: its reading stands
        if self._utterance is not None and self.wants_second_opinion(event):
            self._first_reading = event
            self._awaiting_transcript += 1
            utterance = self._utterance
            return out + [ev.Transcribe(utterance.pcm, utterance.sample_rate, event.language or utterance.language,
                                        utterance.hints, second_opinion=True)]
        return out + self._hear(event)

    def _hear(self, event: ev.Transcript) -> list[ev.Command]:
        if self._closing or self.engine is None:
            return []
        text = event.text.strip()
        if not text:
            # Noise or a cough: nothing was said, keep listening.
            return [] if self._playing is not None else [ev.StartTimer(SILENCE_TIMER, self._silence_s())]
        out: list[ev.Command] = []
        if self._playing is not None:
            out.append(ev.StopPlayback())
        reply = self.engine.hear(text, event.language)
        self.turns.append({"heard": text, "bot": reply.text})
        return out + self._apply(reply)

    def wants_second_opinion(self, event: ev.Transcript) -> bool:
        """A reading the bot would not understand, or one that says the bot
        misheard before: the same recogniser tends to mishear the same words
        the same way, so another model hears the utterance too."""
        text = event.text.strip()
        if not (self.second_opinion and text and self.engine is not None and not self._closing):
            return False
        language = event.language or self.language
        return lexicon.correction(text, language) is not None or self.engine.would_puzzle(text, event.language)

    def _better_reading(self, first: ev.Transcript, second: ev.Transcript) -> ev.Transcript:
        """The second opinion, unless it heard nothing, or the same words
        written apart ("al green" / "algreen": the English model's writing
        stands), or it loses the caller's "no, I said ..." ("No, I fear the
        S" for "no, I said yes"), or the bot would make sense of the first
        reading and not of it, or the first model was surer of its words by a
        clear margin (`CONFIDENCE_MARGIN`)."""
        if not second.text.strip() or self.engine is None or _letters(first.text) == _letters(second.text):
            return first
        language = first.language or self.language
        if lexicon.correction(first.text, language) is not None and lexicon.correction(second.text, language) is None:
            return first
        first_puzzles = self.engine.would_puzzle(first.text, first.language)
        if self.engine.would_puzzle(second.text, second.language) != first_puzzles:
            return second if first_puzzles else first
        return first if first.confidence > second.confidence + CONFIDENCE_MARGIN else second

    def _on_Dtmf(self, event: ev.Dtmf) -> list[ev.Command]:
        if self._closing or self.engine is None:
            return []
        reply = self.engine.dtmf(event.digit)
        if not reply.text and reply.action is None:
            return [ev.CancelTimer(SILENCE_TIMER)]
        self.turns.append({"heard": f"DTMF {event.digit}", "bot": reply.text})
        out: list[ev.Command] = [ev.StopPlayback()] if self._playing is not None else []
        return out + self._apply(reply)

    def _on_PlaybackDone(self, event: ev.PlaybackDone) -> list[ev.Command]:
        if event.play_id != self._playing:
            return []
        self._playing = None
        if self._after_play:
            out, self._after_play = self._after_play, []
            return out + self._finish_if_done(out)
        if self._closing or self._commit_pending:
            return []
        return [ev.StartTimer(SILENCE_TIMER, self._silence_s())]

    def _on_TimerFired(self, event: ev.TimerFired) -> list[ev.Command]:
        if event.name != SILENCE_TIMER or self._closing or self.engine is None or self._awaiting_transcript:
            return []
        reply = self.engine.silence()
        self.turns.append({"heard": "", "bot": reply.text})
        return self._apply(reply)

    def _on_Hangup(self, event: ev.Hangup) -> list[ev.Command]:
        if self.outcome is None:
            self.outcome = "hung_up"
        self.finished = True
        return [ev.CancelTimer(SILENCE_TIMER), ev.Log("call_ended", {"outcome": self.outcome})]

    def _on_CommitDone(self, event: ev.CommitDone) -> list[ev.Command]:
        self._commit_pending = False
        self.outcome = "committed"
        self.pos = {"adapter": event.adapter, "order_id": event.order_id, "idempotency_key": event.idempotency_key}
        if self.finished or self.engine is None:
            return []
        reply = self.engine.committed(event.order_id)
        self.turns[-1]["bot"] = (self.turns[-1]["bot"] + " " + reply.text).strip()
        return self._apply(reply)

    def _on_CommitFailed(self, event: ev.CommitFailed) -> list[ev.Command]:
        self._commit_pending = False
        if self.finished or self.engine is None:
            return []
        reply = self.engine.commit_failed(event.reason)
        self.turns[-1]["bot"] = (self.turns[-1]["bot"] + " " + reply.text).strip()
        return self._apply(reply)

    # ------------------------------------------------------------ helpers

    def _fail_safe(self, exc: Exception) -> list[ev.Command]:
        """An internal error hands the caller to a person with what we have."""
        log = ev.Log("internal_error", {"error": f"{type(exc).__name__}: {exc}"})
        if self.finished or self._closing:
            return [log]
        action = Action(ActionKind.TRANSFER, "internal error", self.playbook.escalation.default_target)
        reply = Reply(
            {"es": "Un momento, le comunico con alguien.", "zh": "请稍等，我为您转接工作人员。"}.get(
                self.language, "One moment, let me get someone to help you."
            ),
            action,
        )
        return [log] + self._apply(reply)

    _last_hints: tuple[str, ...] = ()

    def _apply(self, reply: Reply) -> list[ev.Command]:
        out: list[ev.Command] = [ev.CancelTimer(SILENCE_TIMER)]
        self._last_hints = reply.hints
        action = reply.action
        if action is not None and action.kind == ActionKind.COMMIT:
            assert action.ticket is not None
            self.ticket = action.ticket
            self._commit_pending = True
            key = idempotency_key(self.playbook.business.id, self.call_id)
            out.append(ev.Log("commit", {"total_minor": action.ticket.total_minor, "lines": len(action.ticket.items)}))
            out.append(ev.Commit(action.ticket, key))
            if reply.text:
                out += self._play(reply.text)
            return out
        if reply.text:
            out += self._play(reply.text)
        if action is not None:
            self._closing = True
            self._after_play = self._final_commands(action)
            if self._playing is None:
                final, self._after_play = self._after_play, []
                out += final + self._finish_if_done(final)
        return out

    def _final_commands(self, action: Action) -> list[ev.Command]:
        if action.kind == ActionKind.TRANSFER:
            spec = self.playbook.escalation.target(action.target)
            target = ev.TransferTarget(spec.id, spec.dial or "", spec.fallback, spec.voicemail, spec.timeout_s,
                                       spec.per_pbx())
            self.outcome = self.outcome or "transferred"
            self.transfer = {"reason": action.reason, "target": spec.id}
            summary = self.engine.ticket().summary() if self.engine else ""
            return [
                ev.Log("transfer", {"reason": action.reason, "target": spec.id}),
                ev.Transfer(target, action.reason, summary),
            ]
        if action.kind == ActionKind.REFUSE:
            self.outcome = "refused"
            self.refusal = action.reason
            return [ev.Log("refused", {"reason": action.reason}), ev.HangupCall(action.reason)]
        return [ev.HangupCall(action.reason)]

    def _finish_if_done(self, commands: list[ev.Command]) -> list[ev.Command]:
        if any(isinstance(c, (ev.Transfer, ev.HangupCall)) for c in commands):
            self.finished = True
        return []

    def _play(self, text: str) -> list[ev.Command]:
        self._play_id += 1
        self._playing = self._play_id
        return [ev.Play(text, self.language, self._play_id)]

    def _silence_s(self) -> float:
        return self.playbook.escalation.silence_timeout_s

    def _stt_language(self) -> str | None:
        langs = self.playbook.business.languages
        return langs[0] if len(langs) == 1 else None

    def _make_endpointer(self, sample_rate: int) -> Any:
        if self._endpointer_factory is not None:
            return self._endpointer_factory(sample_rate)
        from agi.speech.vad import Endpointer  # webrtcvad only when audio flows

        tuning = self.playbook.speech
        return Endpointer(
            sample_rate=sample_rate,
            end_silence_ms=tuning.end_silence_ms,
            min_speech_ms=tuning.min_speech_ms,
            max_utterance_ms=tuning.max_utterance_ms,
        )
