"""Mixed-initiative, rules-first slot filling: text in, reply and action out.

The caller may say anything at any time: items, several slots at once,
corrections, removals, questions. Every turn runs the same pipeline:
overriding rules (person, abuse, urgency, scope) -> the answer to a yes/no
question in flight -> questions -> edits of the order -> new items -> slots ->
what to ask next. Nothing is committed without a yes to a read-back that
states the total.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Callable

from agi.catalog import Catalog
from agi.dialogue import hints, lexicon, policy
from agi.dialogue import prompts as P
from agi.dialogue.answers import AnswersMixin
from agi.dialogue.details import DetailsMixin
from agi.dialogue.edits import EditsMixin
from agi.dialogue.invariant import Said, check_commit
from agi.dialogue.matcher import CatalogMatcher, Mention, matcher_for
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import words_to_number
from agi.dialogue.pending import PendingMixin
from agi.dialogue.readback import ReadbackMixin
from agi.dialogue.replies import Action, Reply
from agi.dialogue.rules import RulesMixin
from agi.dialogue.slotfill import SlotFillingMixin
from agi.dialogue.spans import SpanKind, find_spans, masked
from agi.dialogue.state import DialogueState, Pending
from agi.playbook import LoadedPlaybook, SlotSpec
from agi.tickets import (
    FulfillmentType,
    OrderLine,
    TicketKind,
)


class DialogueEngine(
    AnswersMixin, EditsMixin, PendingMixin, DetailsMixin, SlotFillingMixin, ReadbackMixin, RulesMixin
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
            self.state.asking = "confirm_caller"
            self.state.pending = Pending("confirm_caller", rule_id=rule.reason)
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
                return Reply(text, Action("refuse", "closed"))
            greeting = f"{greeting} {P.say('closed_future', lang)}"
        self.state.asking = "order" if self.pb.ticket.items else self._first_missing_slot_id()
        return Reply(greeting, hints=self._hints())

    def hear(self, text: str, language: str | None = None) -> Reply:
        if self.finished:
            return Reply("", understood=False)
        self.state.turns += 1
        self.state.heard.append(text)
        self.state.silences = 0
        self._follow_language(text, language)
        norm = lexicon.normalise(text)
        reply = self._overrides(text, norm) if norm else None
        if reply is not None:
            return reply
        reply = self._correction(text) if norm else None
        if reply is not None:
            return reply
        self._before_last, self._before_turn = self._before_turn, copy.deepcopy(self.state)
        if not norm:
            return self._not_understood()
        reply = self._turn(text, norm)
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
        if self.state.asking == "confirm_caller":
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

    def committed(self, order_ref: str | None) -> Reply:
        lang = self.state.language
        ref = ""
        if order_ref:
            short = order_ref[-4:].upper()
            ref = {"en": f", order number {short}", "es": f", número {short}", "zh": f"，订单号{short}"}[lang]
        key = "committed" if self.pb.ticket.kind is TicketKind.ORDER else "committed_booking"
        when = ""
        ftime = self.state.slots.get("time")
        if isinstance(ftime, datetime) and key == "committed":
            when = {
                "en": f"It will be ready at {P.clock(ftime.hour, ftime.minute, 'en')}. ",
                "es": f"Estará listo a las {P.clock(ftime.hour, ftime.minute, 'es')}. ",
                "zh": f"{P.clock(ftime.hour, ftime.minute, 'zh')}可以取餐。",
            }[lang]
        self.finished = True
        text = P.say(key, lang, ref=ref, business=self.pb.business.name, when=when)
        return Reply(text, Action("hangup", "committed"))

    def commit_failed(self, reason: str) -> Reply:
        return self._transfer(f"POS failure: {reason}", None, "commit_failed")

    # ------------------------------------------------------------ the turn

    def _overrides(self, text: str, norm: str) -> Reply | None:
        lang = self.state.language
        bad = policy.profane(text, self.pb)
        if bad:
            return self._refuse(f"abusive language: {bad}")
        if policy.wants_person(text, lang):
            return self._transfer("caller asked for a person", None, "transfer")
        decision = policy.urgent(text, self.pb) or policy.out_of_scope(text, self.pb)
        if decision is not None:
            return self._decide(decision)
        return None

    def _correction(self, text: str) -> Reply | None:
        """"No, I said Jen" / "that's not what I said": the bot misheard the
        last turn. Everything that turn changed is undone, then what the caller
        says now is taken in its place, or the question is asked again.

        When the words make no sense in place of the last turn but do in place
        of the one before, that is the turn they put right: the caller's first
        "no, I said Chen Family" was itself misheard, and its "no" taken as the
        answer to the next question ("Is 619 ... the best number?")."""
        said = lexicon.correction(text, self.state.language)
        if said is None or self._before_turn is None:
            return None
        if not said and (self.state.asking == "readback" or self.state.pending is not None):
            return None  # "that's wrong" to a yes/no question is a no
        said_norm = lexicon.normalise(said)
        back_to, earlier = self._before_turn, self._before_last
        if said_norm and earlier is not None:
            if not self.trial()._put_right(said, said_norm, back_to).understood and (
                self.trial()._put_right(said, said_norm, earlier).understood
            ):
                back_to = self._before_turn = earlier
                self._before_last = None
        return self._put_right(said, said_norm, back_to)

    def _put_right(self, said: str, said_norm: str, back_to: DialogueState) -> Reply:
        """The conversation as it was at `back_to`, then `said` heard there."""
        counters = (self.state.turns, self.state.nonsense, self.state.language, self.state.heard)
        self.state = copy.deepcopy(back_to)
        self.state.turns, self.state.nonsense, self.state.language, self.state.heard = counters
        if not said_norm:
            return Reply(P.say("sorry_again", self.state.language, again=self._question_text()), hints=self._hints())
        reply = self._turn(said, said_norm)  # the overriding rules have seen these words already
        if reply.understood:
            self.state.misunderstandings = 0
        return reply

    def _turn(self, text: str, norm: str) -> Reply:
        st = self.state
        lang = st.language
        yes = self._is_yes(norm)
        no = self._is_no(norm)

        self._raw_text = text
        # The words left for the order once times, addresses, phone numbers,
        # counts of people or nights and days of the month are taken out.
        order, norm = self._order_words(norm)
        if st.pending is not None:
            reply = self._answer_pending(norm, order, yes, no)
            if reply is not None:
                # "yes" to "did you say 20 large lattes?" can make the order large.
                return (None if self.finished else self._large_order()) or reply

        if st.asking == "readback":
            if yes and not self._has_content(norm):
                return self._commit()
            if no and not self._has_content(norm):
                st.asking = "edit"
                return Reply(P.say("what_change", lang), hints=self._hints())

        if (
            st.asking == "more"
            and yes
            and not self._has_content(norm)
            and not lexicon.contains(norm, lexicon.DONE[lang])
        ):
            return Reply(P.say("what_else", lang), hints=self._hints())

        split = self._questions_beside(text)
        if split is not None:
            return split

        detail = self._answer_detail(norm, order)
        if detail is not None:
            return self._large_order() or detail  # "ten large" to "what size?" can make it large

        # The answer to "what is it doing?" is a description, even when it has a word
        # of a question in it ("it only lasts a couple of hours now").
        asked_text = (spec := self._slot_spec(st.asking)) is not None and spec.type == "text"
        if not asked_text or self._raw_text.rstrip().endswith(("?", "？")) or norm.startswith(self._QUESTION_STARTS):
            answer = self._question(norm)
            if answer is not None:
                return answer

        notes: list[str] = []
        # The answer to "what's the address?" is not an order ("3000 24th street"),
        # nor is "make it eight" when the time is what the caller just moved.
        asked_spec = self._slot_spec(st.asking)
        slot_answer = self._answers_slot(asked_spec, text, norm)
        if not slot_answer and (focus := self._focus_slot(order)) is not None:
            asked_spec, slot_answer = focus, self._answers_slot(focus, text, norm)
        # A question we cannot answer must not turn into an order line nor a free-text
        # answer; what it says of the slots or of a change still counts ("can we do
        # Sunday instead, same time?", "can it be with Ana instead of Marco?").
        unanswered_question = (
            self._is_question(norm)
            and self._raw_text.rstrip().endswith(("?", "？"))
            and not (slot_answer and not norm.startswith(self._QUESTION_STARTS))  # "Ben?": a recogniser's rising tone
            and not lexicon.contains(norm, lexicon.REQUEST[self.state.language] + lexicon.REQUEST["en"])
        )
        changing = lexicon.contains(norm, lexicon.CHANGE[lang] + lexicon.CHANGE["en"])
        changed = False if slot_answer or (unanswered_question and not changing) else self._edit(order, notes)
        refusal = None
        added: list[OrderLine] = []
        if not changed and not slot_answer and not unanswered_question and self.pb.ticket.items and order:
            added, refusal = self._add_items(order, order, notes)
        if refusal is not None:
            return refusal
        before = dict(st.slots)
        got_slots = self._fill_slots(
            text,
            norm,
            bool(changed or added or unanswered_question),
            notes,
            asked_spec.id if slot_answer and asked_spec else None,
        )
        if unanswered_question and not (changed or got_slots):
            return self._not_understood()
        heard = self._acknowledgement(before, bool(changed or added)) if got_slots and not self._slot_error else ""
        if lexicon.contains(norm, lexicon.DONE[lang]) or (st.asking == "more" and no and not added and not changed):
            if st.lines or not self.pb.ticket.items:
                st.order_done = True
                got_slots = True
        if st.asking == "edit" and (changed or added or got_slots):
            st.order_done = True
        if st.asking == "more" and got_slots and not added and st.lines:
            # Giving pickup/delivery details is how callers say they are done.
            st.order_done = True

        if self.state.pending is not None and self.state.pending.kind in ("guess", "alternative", "service", "which"):
            return Reply(" ".join(notes), hints=self._hints())

        if not (changed or added or got_slots or notes):
            if policy.prankish(text):
                st.nonsense += 1
                if st.nonsense >= self.pb.abuse.max_nonsense:
                    return self._refuse("nonsense / prank")
            return self._not_understood()

        large = self._large_order()
        if large is not None:
            return large
        reply = self._next(lead=notes, added=added)
        if heard and st.asking != "readback":  # a read-back says it all anyway
            reply.text = _with_acknowledgement(reply.text, heard, notes, bool(changed or added), lang == "zh")
        return reply

    # ------------------------------------------------------------ yes / no

    def _answers_slot(self, spec: SlotSpec | None, text: str, norm: str) -> bool:
        """Whether the words are an answer to this slot's question (a trial read)."""
        return (
            spec is not None
            and spec.type in ("address", "phone", "name", "time", "date", "datetime", "number")
            and self.trial()._extract(spec, text, norm, True, []) is not None
        )

    _CHANGE_A_VALUE = re.compile(
        r"^(?:no |oh |wait |sorry |um |uh )*(?:actually |make (?:it|that) |change (?:it|that) to |how about |what about "
        r"|let's say |let's do |can we do |mejor |que sea |mejor a las |改成|改到|换成)|\binstead\b|\brather\b"
    )

    def _focus_slot(self, order: str) -> SlotSpec | None:
        """The time, day or count the caller changed last, when this turn changes it
        again with a bare number ("actually make it eight instead") and names nothing
        on the menu: that number is the slot's, not a quantity of the last line."""
        st = self.state
        spec = self._slot_spec(st.focus)
        if spec is None or spec.type not in ("time", "datetime", "number"):
            return None
        if not self._CHANGE_A_VALUE.search(order) or self.mentions(order):
            return None
        if not any(t.isdigit() or words_to_number(t) is not None for t in tokenize(order) if t not in ("a", "an")):
            return None  # "can we do three nights instead?" says its own unit
        return spec

    def _questions_beside(self, text: str) -> Reply | None:
        """'do you guys have parking? I want a blowout with Marco Saturday at 11', 'my laptop
        screen is cracked, how much is it to replace it?': the rest of the turn is taken
        as any turn, then the questions are answered (after, so "it" is what was just said)."""
        clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
        if len(clauses) < 2:
            return None
        asked = [c for c in clauses if self.trial()._question(lexicon.normalise(c)) is not None]
        rest = " ".join(c for c in clauses if c not in asked)
        if not asked or not lexicon.normalise(rest):
            return None
        reply = self._turn(rest, lexicon.normalise(rest))
        answers = [self._question(lexicon.normalise(c), then="") for c in asked]
        said = [a.text.strip() for a in answers if a is not None and a.understood]
        reply.text = " ".join([*said, reply.text])
        return reply

    def _is_menu_word(self, word: str) -> bool:
        return bool(self.matcher().find(word))

    def _order_words(self, norm: str) -> tuple[str, str]:
        """(the words for the order, the words for the slots) of a turn. The order's
        leave out its times, addresses, phone numbers, counts of a unit and days; the
        slots' leave out a menu name that reads like one of those ("a five by seven
        picture frame" is neither seven frames nor a time)."""
        spans = find_spans(norm, self._is_menu_word)
        if not spans:
            return norm, norm
        named = {m.text for m in self.mentions(norm)}
        values, menu = [], []
        for span in spans:
            if span.kind is not SpanKind.TIME:
                values.append(span)
                continue
            lost = named - {m.text for m in self.mentions(masked(norm, [span]))}
            words = set(norm[span.start : span.end].split())
            (menu if any(words & set(name.split()) for name in lost) else values).append(span)
        return masked(norm, values), masked(norm, menu) if menu else norm

    def _is_yes(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.YES[lang]) or lexicon.contains(norm, lexicon.YES["en"])) and not (
            norm.startswith("no ") or norm == "no"
        )

    def _is_no(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.NO[lang]) or lexicon.contains(norm, lexicon.NO["en"]))

    def _is_request(self, norm: str) -> bool:
        """A polite order ("can I get a salad?") with something orderable in it."""
        lang = self.state.language
        said = lexicon.contains(norm, lexicon.REQUEST[lang]) or lexicon.contains(norm, lexicon.REQUEST["en"])
        return bool(said) and bool(self.mentions(norm))

    def _has_content(self, norm: str) -> bool:
        """Does a yes/no answer also carry items, slot values or edits ("no wait, make it
        the morning", "yes, and a coke")?"""
        if self.mentions(norm):
            return True
        return self._says_a_value(norm)

    def _says_a_value(self, norm: str) -> bool:
        """Whether the words would set or change a slot (tried on a copy of the call)."""
        trial = self.trial()
        before = dict(trial.state.slots)
        trial._fill_slots(self._raw_text or norm, norm, True, [])
        return trial.state.slots != before or trial._slot_error is not None

    # ------------------------------------------------------------ what next

    def _next(self, lead: list[str] | None = None, added: list[OrderLine] | None = None) -> Reply:
        st = self.state
        lang = st.language
        lead = [t for t in (lead or []) if t]
        error = self._slot_error
        if error is not None:
            self._slot_error = None
            st.asking = self._slot_error_slot or st.asking
            return Reply(" ".join(lead + [error.text]), hints=self._hints())
        broken = self._broken_rule()
        if broken is not None:
            return Reply(" ".join(lead + [broken.text]), hints=broken.hints)

        if self.pb.ticket.items and not st.lines:
            st.asking = "order"
            return Reply(" ".join(lead + [P.say("what_order", lang)]), hints=self._hints())
        detail = self._incomplete_line()
        if detail is not None:
            index, what = detail
            st.asking = f"detail:{index}:{what}"
            text = self._detail_question(index, what)
            if added and what != "count":  # not "1 large pepperoni pizza. How many ...?"
                items = P.join_list([self._describe(self._priced_line(line)) for line in added], lang)
                lead = lead + [P.say("added", lang, items=items).split(". ")[0].rstrip(".") + "."]
            return Reply(" ".join(lead + [text]), hints=self._hints())
        if self.pb.ticket.items and not st.order_done:
            st.asking = "more"
            if added:
                items = P.join_list([self._describe(self._priced_line(line)) for line in added], lang)
                text = P.say("added", lang, items=items)
            elif lead:
                text = P.say("anything_else_short", lang)
            else:
                text = P.say("anything_else", lang)
            return Reply(" ".join(lead + [text]), hints=self._hints())
        upsell = self._upsell()
        if upsell is not None:
            return Reply(" ".join(lead + [upsell]), hints=self._hints())
        missing = self._missing_slots()
        if missing:
            st.asking = missing[0].id
            return Reply(" ".join(lead + [self._ask(missing[0])]), hints=self._hints())
        st.asking = "readback"
        return Reply(" ".join(lead + [self._readback()]), hints=self._hints())

    def _upsell(self) -> str | None:
        st = self.state
        categories = {
            self.catalog.item(line.catalog_id).category for line in st.lines if self.catalog.item(line.catalog_id)
        }
        for rule in self.pb.upsell:
            if rule.id in st.upsells_offered:
                continue
            if rule.when_category and rule.when_category not in categories:
                continue
            if rule.unless_category and rule.unless_category in categories:
                continue
            item = self.catalog.item(rule.offer)
            if item is None or not item.available:
                continue
            st.upsells_offered.add(rule.id)
            v = item.variation(item.default_variation)
            line = OrderLine(
                catalog_id=item.id,
                name=item.name,
                variation_id=v.id if v else None,
                variation_name=v.name if v else None,
            )
            st.pending = Pending("upsell", [line], rule.id)
            return rule.prompt.get(st.language)
        return None

    def _ask(self, spec: SlotSpec) -> str:
        lang = self.state.language
        if spec.prompt is not None:
            return spec.prompt.get(lang)
        t = spec.type
        if t == "fulfillment":
            key = "ask_fulfillment_dine" if FulfillmentType.DINE_IN in self.pb.ticket.fulfillment else "ask_fulfillment"
            return P.say(key, lang)
        if t == "address":
            return P.say("ask_address", lang)
        if t == "time":
            return P.say("ask_time", lang, earliest=self._when_text(self._earliest()))
        if t == "name":
            return P.say("ask_name" if self.pb.ticket.kind is TicketKind.ORDER else "ask_name_booking", lang)
        if t == "phone":
            if self.caller and not self.state.callerid_declined:
                self.state.pending = Pending("callerid")
                return P.say("ask_phone_callerid", lang, number=_spoken_number(self.caller))
            return P.say("ask_phone", lang)
        if t in ("datetime",):
            return P.say("ask_datetime", lang)
        if t == "date":
            return P.say("ask_date", lang)
        if t == "staff":
            services = self._service_ids()
            names = [m.name for m in self.pb.schedule.staff if not m.services or all(x in m.services for x in services)]
            return P.say("ask_staff", lang, options=P.join_list(names, lang, "or"))
        if t == "service":
            category = self.pb.ticket.service_category
            names = [
                i.display_name(lang)
                for i in self.catalog.items
                if i.available and (category is None or i.category == category)
            ]
            return P.say("what_service", lang, options=P.join_list(names[:6], lang))
        if t == "choice":
            options = [spec.choice_text(c, lang) for c in spec.choices]
            return P.say("ask_choice", lang, slot=spec.id.replace("_", " "), options=P.join_list(options, lang))
        return P.say("ask_generic", lang, slot=spec.id.replace("_", " "))

    def _question_text(self) -> str:
        """The question in flight, to resume after an answer or a repeat."""
        st = self.state
        lang = st.language
        if st.asking == "readback":
            return self._readback()
        if st.asking == "confirm_caller":
            return P.say("confirm_caller", lang)
        if st.asking == "order":
            return P.say("what_order", lang)
        if st.asking == "more":
            return P.say("anything_else", lang).split(". ")[-1] if lang == "en" else P.say("anything_else", lang)
        if st.asking == "edit":
            return P.say("what_change", lang)
        asked = self._detail_asked()
        if asked is not None and asked[0] < len(st.lines):
            return self._detail_question(*asked)  # "Which sauce ...?" again, not "what would you like?"
        spec = self._slot_spec(st.asking)
        if spec is not None:
            pending, st.pending = st.pending, None
            text = self._ask(spec)
            st.pending = st.pending or pending
            return text
        return P.say("what_order", lang)

    # ------------------------------------------------------------ endings

    def _commit(self) -> Reply:
        ticket = self._priced()
        said = Said(tuple(self.state.heard), self.caller, self.now.date())
        types = {s.id: s.type for s in self.pb.ticket.slots}
        problems = check_commit(ticket, self.state.read_back, said, self.catalog, types)
        if problems:
            # A ticket that is not what the caller said is a bug: a person takes the call.
            return self._transfer("commit check failed: " + "; ".join(map(str, problems)), None, "transfer_escalate")
        self.state.asking = None
        return Reply("", Action("commit", "caller confirmed", ticket=ticket))

    def _large_order(self) -> Reply | None:
        limit = self.pb.escalation.large_order_minor
        if limit is None:
            return None
        ticket = self.ticket()
        if not ticket.items:
            return None
        total = ticket.total_minor
        if total > limit:
            return self._transfer(f"large order: {total} > {limit}", None, "transfer_escalate")
        return None

    def _transfer(self, reason: str, target: str | None, prompt: str) -> Reply:
        self.finished = True
        return Reply(
            P.say(prompt, self.state.language), Action("transfer", reason, target or self.pb.escalation.default_target)
        )

    def _refuse(self, reason: str, prompt: str = "refuse") -> Reply:
        self.finished = True
        return Reply(P.say(prompt, self.state.language), Action("refuse", reason))

    def _decide(self, decision: policy.Decision) -> Reply:
        if decision.action == "refuse":
            return self._refuse(decision.reason)
        return self._transfer(decision.reason, decision.target, decision.prompt)

    def _confirm_again(self) -> Reply:
        """No key press yet: ask again; after as many tries as a misunderstanding gets, a person decides."""
        st = self.state
        st.misunderstandings += 1
        if st.misunderstandings >= self.pb.escalation.max_misunderstandings:
            reason = st.pending.rule_id if st.pending is not None else "repeat hang-ups"
            return self._transfer(f"{reason}; no key press, staff to confirm", None, "transfer_escalate")
        return Reply(P.say("confirm_caller", st.language), hints=self._hints(), understood=False)

    def _not_understood(self) -> Reply:
        st = self.state
        st.misunderstandings += 1
        if st.misunderstandings >= self.pb.escalation.max_misunderstandings:
            return self._transfer("repeated misunderstanding", None, "transfer_escalate")
        return Reply(
            P.say("not_understood", st.language, again=self._question_text()), hints=self._hints(), understood=False
        )

    def _follow_language(self, text: str, language: str | None) -> None:
        allowed = self.pb.business.languages
        guess = language if language in allowed else None
        if guess is None or guess == "en":
            guess = lexicon.guess_language(text, list(allowed)) or guess
        if guess and guess != self.state.language and guess in allowed:
            self.state.language = guess

    # ------------------------------------------------------------ hints

    def _hints(self) -> tuple[str, ...]:
        """Words the caller is likely to say next, to bias speech recognition.

        Worked out from the question in the air, so a question asked again
        ("Sorry, I didn't catch that. Shall I place the order?") gets the
        same hints as the first time."""
        st = self.state
        lang = st.language
        if st.pending is not None:
            if st.pending.kind == "which":
                return hints.limit(tuple(line.name for line in st.pending.lines))
            # A yes or a no ("Is 303 555 0101 the best number?", "Did you
            # say ...?", "Would you like ... instead?"); with no hint at all
            # tiny.en let a formant voice's "yes" go as no speech.
            return hints.yes_no(lang)
        if st.asking == "readback":
            return hints.yes_no(lang)
        asked = self._detail_asked()
        if asked is not None and asked[0] < len(st.lines):
            return self._detail_hints(*asked)
        spec = self._slot_spec(st.asking)
        if spec is not None:
            return hints.limit(hints.for_slot(spec, self.pb, self.catalog, lang))
        order = hints.for_order(self.pb, self.catalog, lang, st.slots)
        if st.asking == "more":
            return hints.limit(hints.done_words(lang) + order)
        return hints.limit(order)


# Where a turn's sentences and clauses part: a question beside the rest of the turn.
_CLAUSE = re.compile(r"(?<=[?？])\s*|(?<=[.!。！])\s+|,\s+|，")


def _with_acknowledgement(text: str, heard: str, notes: list[str], after_first: bool, chinese: bool) -> str:
    """`heard` placed after the turn's notes ("Okay, changed.") and, when the
    turn also changed the order, after the sentence saying the order back."""
    said = " ".join(t for t in notes if t)
    head, rest = (said, text[len(said):].lstrip()) if said and text.startswith(said) else ("", text)
    if after_first:
        first, dot, tail = rest.partition("。" if chinese else ". ")
        if dot:
            head, rest = " ".join(t for t in (head, first + dot.strip()) if t), tail.lstrip()
    return ("" if chinese else " ").join(t for t in (head, heard, rest) if t)


def _spoken_number(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return " ".join(digits)
