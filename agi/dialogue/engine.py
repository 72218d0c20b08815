"""Mixed-initiative, rules-first slot filling: text in, reply and action out.

The caller may say anything at any time: items, several slots at once,
corrections, removals, questions. Every turn is read once (`reading`) and runs
the same ordered steps (`steps`): overriding rules, a correction, the answer to
a question in flight, to the read-back, the caller's questions, then the slots
and the order; then what to ask next (`asking`). Nothing is committed without a
yes to a read-back that states the total, and the ticket committed is checked
against what the caller said (`endings`, `invariant`).

What the engine knows is spread over parts of one class, each in its module:
reading a turn, pending answers, details, edits, slot filling, services,
answers to questions, read-backs, rules, asking, endings.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Callable

from agi.catalog import Catalog
from agi.dialogue import lexicon, policy
from agi.dialogue import prompts as P
from agi.dialogue.answers import AnswersMixin
from agi.dialogue.asking import AskingMixin
from agi.dialogue.details import DetailsMixin
from agi.dialogue.edits import EditsMixin
from agi.dialogue.endings import EndingsMixin
from agi.dialogue.matcher import CatalogMatcher, Mention, matcher_for
from agi.dialogue.pending import PendingMixin
from agi.dialogue.readback import ReadbackMixin
from agi.dialogue.reading import ReadingMixin
from agi.dialogue.replies import Action, ActionKind, Reply
from agi.dialogue.rules import RulesMixin
from agi.dialogue.services import ServicesMixin
from agi.dialogue.slotfill import SlotFillingMixin
from agi.dialogue.snapshot import state_from_json, state_to_json
from agi.dialogue.state import Asking, DialogueState, Pending, PendingKind
from agi.dialogue.steps import BEFORE_TURN, run_turn
from agi.playbook import LoadedPlaybook


class DialogueEngine(
    ReadingMixin,
    PendingMixin,
    DetailsMixin,
    EditsMixin,
    SlotFillingMixin,
    ServicesMixin,
    AnswersMixin,
    ReadbackMixin,
    RulesMixin,
    AskingMixin,
    EndingsMixin,
):
    """One call's conversation. Pure: the clock is `now`, given at start."""

    def __init__(
        self,
        loaded: LoadedPlaybook,
        catalog: Callable[[], Catalog] | Catalog,
        now: datetime,
        caller: str | None = None,
        language: str | None = None,
        recent_hangups: int = 0,
    ):
        self.loaded = loaded
        self.pb = loaded.playbook
        self._catalog_source = catalog if callable(catalog) else (lambda: catalog)
        self.now = now.astimezone(self.pb.business.tz)
        self.caller = caller
        self.recent_hangups = recent_hangups
        first = language if language in self.pb.business.languages else self.pb.business.languages[0]
        self.state = DialogueState(language=first)
        self.finished = False
        self._slot_error: Reply | None = None
        self._slot_error_slot: str | None = None  # the slot whose value was refused: asked next
        self._raw_text = ""
        self._before_turn: DialogueState | None = None  # what "no, I said ..." goes back to
        self._before_last: DialogueState | None = None  # the same, one turn further back

    # ------------------------------------------------------------ catalog

    @property
    def catalog(self) -> Catalog:
        return self._catalog_source()

    def matcher(self) -> CatalogMatcher:
        return matcher_for(self.catalog, self.state.language)

    def mentions(self, norm: str, kinds: tuple[str, ...] = ("item", "variation", "modifier")) -> list[Mention]:
        """Confident catalog mentions of the given kinds."""
        return [m for m in self.matcher().find(norm) if m.kind in kinds and not m.low_confidence]

    # ------------------------------------------------------------ entry points

    def start(self) -> Reply:
        rule = policy.caller_rule(self.pb, self.caller, self.recent_hangups)
        if rule is not None and rule.action == "confirm":
            self.state.asking = Asking.CONFIRM_CALLER
            self.state.pending = Pending(PendingKind.CONFIRM_CALLER, rule_id=rule.reason)
            return Reply(P.say("confirm_caller", self.state.language), hints=self._hints())
        if rule is not None:
            return self._decide(rule)
        return self._welcome()

    def _welcome(self) -> Reply:
        lang = self.state.language
        greeting = self.pb.greeting.get(lang)
        if not self.pb.business.is_open(self.now):
            self.state.closed_now = True
            action = self.pb.when_closed.action
            if action == "transfer":
                return self._transfer("closed", None, "transfer_escalate")
            if action == "refuse":
                self.finished = True
                text = P.say("closed_refuse", lang, hours=self._hours_text())
                return Reply(text, Action(ActionKind.REFUSE, "closed"))
            greeting = f"{greeting} {P.say('closed_future', lang)}"
        self.state.asking = Asking.ORDER if self.pb.ticket.items else self._first_missing_slot_id()
        return Reply(greeting, hints=self._hints())

    def hear(self, text: str, language: str | None = None) -> Reply:
        """The bot's reply to one caller turn (what a recogniser or a texter gave)."""
        if self.finished:
            return Reply("", understood=False)
        self.state.turns += 1
        self.state.heard.append(text)
        self.state.silences = 0
        self._follow_language(text, language)
        if not lexicon.normalise(text):
            self._before_last, self._before_turn = self._before_turn, copy.deepcopy(self.state)
            return self._not_understood()
        utterance = self._utterance(text)
        for step in BEFORE_TURN:
            reply = step(self, utterance)
            if reply is not None:
                return reply
        self._before_last, self._before_turn = self._before_turn, copy.deepcopy(self.state)
        reply = run_turn(self, utterance)
        if reply.understood:
            self.state.misunderstandings = 0
        return reply

    def trial(self) -> "DialogueEngine":
        """A copy of this conversation to try words on ("what would the bot
        make of this?") without changing the call."""
        other = copy.copy(self)
        other.state = copy.deepcopy(self.state)
        other._before_turn = copy.deepcopy(self._before_turn)
        other._before_last = copy.deepcopy(self._before_last)
        return other

    def snapshot(self) -> dict[str, Any]:
        """The conversation as plain JSON (see `snapshot`): what a text channel stores
        between messages."""
        return {
            "state": state_to_json(self.state),
            "before_turn": state_to_json(self._before_turn) if self._before_turn else None,
            "before_last": state_to_json(self._before_last) if self._before_last else None,
            "finished": self.finished,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """The conversation as `snapshot` left it."""
        self.state = state_from_json(data["state"])
        self._before_turn = state_from_json(data["before_turn"]) if data.get("before_turn") else None
        self._before_last = state_from_json(data["before_last"]) if data.get("before_last") else None
        self.finished = bool(data.get("finished"))

    def would_puzzle(self, text: str, language: str | None = None) -> bool:
        """Whether hearing `text` now would leave the bot not understanding
        (asking again, or handing the call over for repeated misunderstanding)."""
        trial = self.trial()
        before = trial.state.misunderstandings
        reply = trial.hear(text, language)
        return not reply.understood or trial.state.misunderstandings > before

    def dtmf(self, digit: str) -> Reply:
        if self.finished:
            return Reply("", understood=False)
        if digit == "0":
            return self._transfer("caller pressed 0", None, "transfer")
        if self.state.asking == Asking.CONFIRM_CALLER:
            if digit != "1":
                return self._confirm_again()
            self.state.pending = self.state.asking = None
            return self._welcome()
        spec = self._slot_spec(self.state.asking)
        if spec is not None and spec.type == "phone" and self.state.pending is None:
            if digit == "#" or len(self.state.dtmf_buffer) >= 15:
                digits, self.state.dtmf_buffer = self.state.dtmf_buffer, ""
                if len(digits) >= 7:
                    self.state.slots["phone"] = digits
                    return self._next()
                return self._not_understood()
            if digit.isdigit():
                self.state.dtmf_buffer += digit
                if len(self.state.dtmf_buffer) == 10:
                    digits, self.state.dtmf_buffer = self.state.dtmf_buffer, ""
                    self.state.slots["phone"] = digits
                    return self._next()
            return Reply("", understood=True)
        word = {"1": "yes", "2": "no"}.get(digit)
        if word is None:
            return Reply("", understood=False)
        return self.hear(word, "en" if self.state.language == "en" else None)

    def silence(self) -> Reply:
        if self.finished:
            return Reply("", understood=False)
        self.state.silences += 1
        if self.state.silences >= self.pb.escalation.max_silences:
            return self._transfer("long silence", None, "transfer_escalate")
        return Reply(P.say("silence", self.state.language, again=self._question_text()), hints=self._hints())


    def _follow_language(self, text: str, language: str | None) -> None:
        allowed = self.pb.business.languages
        guess = language if language in allowed else None
        if guess is None or guess == "en":
            guess = lexicon.guess_language(text, list(allowed)) or guess
        if guess and guess != self.state.language and guess in allowed:
            self.state.language = guess

