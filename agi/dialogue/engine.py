"""Mixed-initiative, rules-first slot filling: text in, reply and action out.

The caller may say anything at any time: items, several slots at once,
corrections, removals, questions. Every turn runs the same pipeline:
overriding rules (person, abuse, urgency, scope) -> the answer to a yes/no
question in flight -> questions -> edits of the order -> new items -> slots ->
what to ask next. Nothing is committed without a yes to a read-back that
states the total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable

from agi.catalog import Catalog, Item
from agi.dialogue import lexicon, policy
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue.matcher import CatalogMatcher, Mention, matcher_for
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.parser import parse_order
from agi.dialogue.state import DialogueState, Pending
from agi.playbook import LoadedPlaybook, SlotSpec
from agi.tickets import (
    Customer,
    Fulfillment,
    FulfillmentType,
    LineModifier,
    OrderLine,
    PaymentIntent,
    Qualifier,
    Ticket,
    TicketKind,
    price_ticket,
)


@dataclass(frozen=True, slots=True)
class Action:
    """What the call must do after speaking the reply."""

    kind: str  # "commit" | "transfer" | "refuse" | "hangup"
    reason: str = ""
    target: str | None = None
    ticket: Ticket | None = None


@dataclass(slots=True)
class Reply:
    text: str
    action: Action | None = None
    hints: tuple[str, ...] = ()
    understood: bool = True
    notes: list[str] = field(default_factory=list)


_PERSON_SLOT_TYPES = {"fulfillment", "time", "name", "phone", "address"}


class DialogueEngine:
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
        self._raw_text = ""

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
        lang = self.state.language
        rule = policy.caller_rule(self.pb, self.caller, self.recent_hangups)
        if rule is not None:
            return self._decide(rule)
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
        self.state.silences = 0
        self._follow_language(text, language)
        norm = lexicon.normalise(text)
        if not norm:
            return self._not_understood()
        reply = self._overrides(text, norm)
        if reply is not None:
            return reply
        reply = self._turn(text, norm)
        if reply.understood:
            self.state.misunderstandings = 0
        return reply

    def dtmf(self, digit: str) -> Reply:
        if self.finished:
            return Reply("", understood=False)
        if digit == "0":
            return self._transfer("caller pressed 0", None, "transfer")
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
            when = {"en": f"It will be ready at {P.clock(ftime.hour, ftime.minute, 'en')}. ",
                    "es": f"Estará listo a las {P.clock(ftime.hour, ftime.minute, 'es')}. ",
                    "zh": f"{P.clock(ftime.hour, ftime.minute, 'zh')}可以取餐。"}[lang]
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

    def _turn(self, text: str, norm: str) -> Reply:
        st = self.state
        lang = st.language
        yes = self._is_yes(norm)
        no = self._is_no(norm)

        self._raw_text = text
        if st.pending is not None:
            reply = self._answer_pending(norm, yes, no)
            if reply is not None:
                return reply

        if st.asking == "readback":
            if yes and not self._has_content(norm):
                return self._commit()
            if no and not self._has_content(norm):
                st.asking = "edit"
                return Reply(P.say("what_change", lang), hints=self._hints())

        if st.asking == "more" and yes and not self._has_content(norm) and not lexicon.contains(norm, lexicon.DONE[lang]):
            return Reply(P.say("what_else", lang), hints=self._hints())

        detail = self._answer_detail(norm)
        if detail is not None:
            return detail

        answer = self._question(norm)
        if answer is not None:
            return answer

        notes: list[str] = []
        if self._is_question(norm) and self._raw_text.rstrip().endswith(("?", "？")) and not self._has_content_slots(norm):
            # A question we cannot answer must not turn into an order line.
            return self._not_understood()
        # The answer to "what's the address?" is not an order ("3000 24th street").
        asked_spec = self._slot_spec(st.asking)
        slot_answer = asked_spec is not None and asked_spec.type in ("address", "phone", "name", "time", "date",
                                                                       "datetime", "number") and self._extract(
            asked_spec, text, norm, True, []) is not None
        changed = False if slot_answer else self._edit(norm, notes)
        refusal = None
        added: list[OrderLine] = []
        if not changed and not slot_answer and self.pb.ticket.items:
            added, refusal = self._add_items(text, norm, notes)
        if refusal is not None:
            return refusal
        got_slots = self._fill_slots(text, norm, bool(changed or added), notes)
        if lexicon.contains(norm, lexicon.DONE[lang]) or (
            st.asking == "more" and no and not added and not changed
        ):
            if st.lines or not self.pb.ticket.items:
                st.order_done = True
                got_slots = True
        if st.asking == "edit" and (changed or added or got_slots):
            st.order_done = True
        if st.asking == "more" and got_slots and not added and st.lines:
            # Giving pickup/delivery details is how callers say they are done.
            st.order_done = True

        if self.state.pending is not None and self.state.pending.kind in ("guess", "alternative", "service"):
            return Reply(" ".join(notes), hints=self._yes_no_hints())

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
        return reply

    # ------------------------------------------------------------ yes / no

    def _is_yes(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.YES[lang]) or lexicon.contains(norm, lexicon.YES["en"])) and not (
            norm.startswith("no ") or norm == "no"
        )

    def _is_no(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.NO[lang]) or lexicon.contains(norm, lexicon.NO["en"]))

    def _has_content_slots(self, norm: str) -> bool:
        return bool(S.parse_time_of_day(norm) or S.parse_phone(norm) or S.parse_address(norm, False))

    def _has_content(self, norm: str) -> bool:
        """Does a yes/no answer also carry items, slot values or edits?"""
        if self.mentions(norm):
            return True
        return bool(S.parse_time_of_day(norm) or S.parse_phone(norm) or S.parse_address(norm, False))

    def _answer_pending(self, norm: str, yes: bool, no: bool) -> Reply | None:
        st = self.state
        pending = st.pending
        assert pending is not None
        if pending.kind == "callerid":
            if yes or lexicon.contains(norm, lexicon.CALLER_ID_OK[st.language]):
                st.pending = None
                st.slots["phone"] = self.caller
                return self._next()
            phone = S.parse_phone(norm)
            st.pending = None
            if phone:
                st.slots["phone"] = phone
                return self._next()
            if no:
                st.asking = "phone"
                return Reply(P.say("ask_phone", st.language), hints=("yes", "no"))
            return None
        if pending.kind == "service" and yes and not self._has_content(norm):
            st.pending = None
            slot_id, service_id = (pending.rule_id or "=").split("=", 1)
            st.slots[slot_id] = service_id
            return self._next()
        if yes and not self._has_content(norm):
            st.pending = None
            if pending.kind == "upsell":
                self._append(pending.lines)
                return self._next(lead=[P.say("upsell_added", st.language, next="").strip()])
            self._append(pending.lines)
            return self._next(added=pending.lines)
        if no and not self._has_content(norm):
            st.pending = None
            return self._next()
        st.pending = None  # anything else moves on; the new words are handled normally
        return None

    # ------------------------------------------------------------ questions

    def _question(self, norm: str) -> Reply | None:
        lang = self.state.language
        nxt = self._question_text()
        if lexicon.contains(norm, lexicon.QUESTION_SO_FAR[lang]) or lexicon.contains(norm, lexicon.QUESTION_SO_FAR["en"]):
            if not self.state.lines:
                return Reply(P.say("so_far_empty", lang, next=nxt), hints=self._hints())
            ticket = self._priced()
            items = P.join_list([self._describe(line) for line in ticket.items], lang)
            total = P.money(ticket.total_minor, ticket.currency, lang)
            return Reply(P.say("so_far", lang, items=items, total=total, next=nxt), hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_HOURS[lang]) or lexicon.contains(norm, lexicon.QUESTION_HOURS["en"]):
            return Reply(P.say("hours", lang, hours=self._hours_text(), next=nxt), hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_DELIVERY_AREA[lang]) and self._is_question(norm):
            area = self.pb.business.delivery_area_text or P.join_list(self.pb.business.delivery_area, lang)
            if not self.pb.ticket.items:
                return Reply(P.say("service_area", lang, area=area, next=nxt), hints=self._hints())
            if FulfillmentType.DELIVERY not in self.pb.ticket.fulfillment:
                types = P.join_list([P.FULFILLMENT_WORDS[t.value][lang] for t in self.pb.ticket.fulfillment], lang)
                return Reply(P.say("no_delivery", lang, types=types, next=nxt), hints=self._hints())
            return Reply(P.say("delivery_area", lang, area=area, next=nxt), hints=self._hints())
        for topic, answer in self.pb.faq.items():
            if re.search(rf"\b{re.escape(topic.lower())}\b", norm) and self._is_question(norm):
                return Reply(f"{answer.get(lang)} {nxt}", hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_PRICE[lang]) and self._is_question(norm):
            return self._price_answer(norm, nxt)
        if lexicon.contains(norm, lexicon.QUESTION_CONTENTS[lang]) and self._is_question(norm):
            item = self._mentioned_item(norm)
            if item is not None:
                contents = item.description or self._default_modifiers(item)
                if contents:
                    return Reply(P.say("contents", lang, item=item.display_name(lang), contents=contents, next=nxt))
        if lexicon.contains(norm, lexicon.QUESTION_OPTIONS[lang]) and self._is_question(norm):
            return self._options_answer(norm, nxt)
        return None

    _QUESTION_STARTS = ("how", "what", "which", "do you", "does", "is", "are", "can you tell", "cuánto", "cuanto",
                        "qué", "que", "cuál", "cual", "tienen", "hay", "where", "when", "dónde", "donde", "what's")

    def _is_question(self, norm: str) -> bool:
        return (norm.startswith(self._QUESTION_STARTS) or lexicon.has_cjk(norm) or " how much" in f" {norm}"
                or self._raw_text.rstrip().endswith(("?", "？")))

    def _price_answer(self, norm: str, nxt: str) -> Reply:
        lang = self.state.language
        result = parse_order(norm, self.catalog, lang)
        if not result.lines:
            if self.state.lines:
                ticket = self._priced()
                total = P.money(ticket.total_minor, ticket.currency, lang)
                items = P.join_list([self._describe(line) for line in ticket.items], lang)
                return Reply(P.say("so_far", lang, items=items, total=total, next=nxt))
            return self._not_understood()
        line = result.lines[0].line.model_copy(update={"quantity": 1})
        priced = price_ticket(Ticket(items=[line]), self.catalog)
        item = self.catalog.item(line.catalog_id)
        if item is not None and item.variations and line.variation_id is None:
            options = P.join_list(
                [f"{v.display_name(lang)} {P.money(v.price, self.catalog.currency, lang)}" for v in item.variations], lang
            )
            return Reply(P.say("options", lang, item=item.display_name(lang), options=options, next=nxt))
        price = P.money(priced.total_minor, priced.currency, lang)
        return Reply(P.say("price", lang, item=self._describe(priced.items[0], with_qty=False), price=price, next=nxt))

    def _options_answer(self, norm: str, nxt: str) -> Reply:
        lang = self.state.language
        item = self._mentioned_item(norm)
        cat = self.catalog
        if item is not None:
            if item.variations:
                opts = [v.display_name(lang) for v in item.variations if v.available]
                return Reply(P.say("options", lang, item=item.display_name(lang), options=P.join_list(opts, lang), next=nxt))
            groups = cat.groups_of(item)
            if groups:
                opts = [m.display_name(lang) for m in groups[0].options if m.available]
                return Reply(P.say("options", lang, item=item.display_name(lang), options=P.join_list(opts, lang), next=nxt))
        # A category named in the question ("what drinks do you have").
        for category in dict.fromkeys(i.category for i in cat.items):
            if category and re.search(rf"\b{re.escape(category.rstrip('s'))}", norm):
                names = [i.display_name(lang) for i in cat.items if i.category == category and i.available]
                return Reply(P.say("menu", lang, options=P.join_list(names[:8], lang), next=nxt))
        if "topping" in norm or "ingrediente" in norm or "配料" in norm:
            for g in cat.modifier_groups:
                if len(g.options) > 3:
                    names = [m.display_name(lang) for m in g.options if m.available]
                    return Reply(P.say("menu", lang, options=P.join_list(names, lang), next=nxt))
        categories = [c for c in dict.fromkeys(i.category for i in cat.items) if c]
        sample = []
        for c in categories:
            first = next((i for i in cat.items if i.category == c and i.available), None)
            if first is not None:
                sample.append(first.display_name(lang))
        return Reply(P.say("menu", lang, options=P.join_list(sample[:8], lang), next=nxt))

    def _mentioned_item(self, norm: str) -> Item | None:
        for m in self.mentions(norm, ("item",)):
            return self.catalog.item(m.item_id) if m.item_id else None
        return None

    def _default_modifiers(self, item: Item) -> str:
        lang = self.state.language
        names = [m.display_name(lang) for g in self.catalog.groups_of(item) for m in g.options if m.default]
        return P.join_list(names, lang)

    # ------------------------------------------------------------ edits

    def _edit(self, norm: str, notes: list[str]) -> bool:
        """Removals and corrections of lines already on the order."""
        st = self.state
        lang = st.language
        if not st.lines:
            return False
        mentions = self.mentions(norm, ("item",))
        in_order = [m for m in mentions if any(line.catalog_id == m.item_id for line in st.lines)]
        removing = lexicon.contains(norm, lexicon.REMOVE[lang]) or lexicon.contains(norm, lexicon.REMOVE["en"])
        changing = lexicon.contains(norm, lexicon.CHANGE[lang]) or lexicon.contains(norm, lexicon.CHANGE["en"])

        # "change the coke to a sprite", "swap the coke for a sprite", "a sprite instead of the coke"
        if changing and len(mentions) >= 2 and in_order:
            old = in_order[0]
            if "instead of" in norm or "en vez de" in norm or "en lugar de" in norm:
                old = in_order[-1]
            new = next((m for m in mentions if m is not old and m.item_id != old.item_id), None)
            if new is not None:
                return self._replace_item(old.item_id, new, norm, notes)

        # "change the pepperoni to a veggie pizza": the old line named by a word of its item
        new_only = [m for m in mentions if m not in in_order]
        if changing and len(new_only) == 1 and not in_order:
            before = " ".join(tokenize(norm)[: new_only[0].start])
            index = self._line_named_by(before)
            if index is not None and st.lines[index].catalog_id != new_only[0].item_id:
                return self._replace_item(st.lines[index].catalog_id, new_only[0], norm, notes)

        if removing and in_order and not (changing and len(mentions) >= 2):
            gone = [line for line in st.lines if any(line.catalog_id == m.item_id for m in in_order)]
            st.lines = [line for line in st.lines if line not in gone]
            st.last_line = None
            names = P.join_list([self._describe(line) for line in gone], lang)
            notes.append(P.say("removed", lang, items=names, next="").strip())
            return True
        if removing and not mentions and re.search(r"\b(that|it|the last one|eso|那个)\b", norm) and not self.mentions(norm):
            line = st.last()
            if line is not None:
                st.lines.remove(line)
                st.last_line = None
                notes.append(P.say("removed", lang, items=self._describe(line), next="").strip())
                return True

        other = self.mentions(norm, ("variation", "modifier"))
        target = self._line_for(in_order, norm)
        if not in_order and other:
            fitting = self._line_accepting(other)
            target = fitting if fitting is not None else target
        if target is None:
            return False
        # "make that three", "actually two of those", "make the wings two"
        qty = self._quantity_in(norm, exclude_mentions=mentions + other)
        if (changing or norm.startswith(("no ", "actually", "oh "))) and qty is not None and not other:
            if len(mentions) <= 1:
                return self._set_quantity(target, qty, notes)
        # "actually large", "make it a large", "add mushrooms to that", "no onions on the pizza"
        if other and (not mentions or in_order) and (changing or in_order or self._orphans_only(norm, mentions)):
            return self._modify_line(target, norm, notes, qty if changing else None)
        return False

    def _orphans_only(self, norm: str, item_mentions: list[Any]) -> bool:
        """Modifiers or a size said with no item: they belong to the last line."""
        return not item_mentions and not parse_order(norm, self.catalog, self.state.language).lines

    def _line_for(self, in_order: list[Any], norm: str) -> int | None:
        """The line a correction is about: named, or named by a generic word
        ("make that three pizzas" -> the pizza line), else the last one."""
        st = self.state
        if in_order:
            for i in range(len(st.lines) - 1, -1, -1):
                if st.lines[i].catalog_id == in_order[0].item_id:
                    return i
        named = self._line_named_by(norm)
        if named is not None:
            return named
        if st.last() is None:
            return None
        return st.lines.index(st.last())  # type: ignore[arg-type]

    def _line_accepting(self, mentions: list[Mention]) -> int | None:
        """The latest line named by a word, else the latest whose item takes
        one of these sizes or options ("actually large" after "...and a coke")."""
        st = self.state
        for i in range(len(st.lines) - 1, -1, -1):
            item_id = st.lines[i].catalog_id
            for m in mentions:
                for t in m.candidates:
                    if t.item_id == item_id or (
                        t.kind == "modifier" and t.modifier_id and self.matcher().accepts_modifier(item_id, t.modifier_id)
                    ):
                        return i
        return None

    def _line_named_by(self, words_text: str) -> int | None:
        """The latest line whose item name or category shares a word with the text."""
        st = self.state
        words = {w.rstrip("s") for w in tokenize(words_text)} - {"", "the", "a", "that", "it", "make", "change"}
        for i in range(len(st.lines) - 1, -1, -1):
            item = self.catalog.item(st.lines[i].catalog_id)
            if item is None:
                continue
            generic = {w.rstrip("s") for w in tokenize(f"{item.name} {item.category}")} - {""}
            if words & generic:
                return i
        return None

    def _quantity_in(self, norm: str, exclude_mentions: list[Any]) -> int | None:
        tokens = tokenize(norm)
        spans = {i for m in exclude_mentions for i in range(m.start, m.end)}
        for i, tok in enumerate(tokens):
            if i in spans:
                continue
            if tok in ("a", "an", "one", "una", "un", "uno") and not re.search(r"\b(make (?:that|it) (?:one|just one)|just one|solo uno|solo una)\b", norm):
                continue
            n = int(tok) if tok.isdigit() else S.words_to_number(tok)
            if n is not None and 0 < n < 1000:
                return n
        if lexicon.has_cjk(norm):
            m = re.search(r"([一二两三四五六七八九十\d]+)\s*[个份杯瓶张]", norm)
            if m:
                return S.words_to_number(m.group(1))
        return None

    def _set_quantity(self, index: int, qty: int, notes: list[str]) -> bool:
        st = self.state
        if qty > self.pb.ticket.max_quantity:
            return False
        st.lines[index] = st.lines[index].model_copy(update={"quantity": qty})
        st.touch(index)
        notes.append(P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip())
        return True

    def _modify_line(self, index: int, norm: str, notes: list[str], qty: int | None = None) -> bool:
        """Re-read the words as if said with the line's item, then merge."""
        st = self.state
        line = st.lines[index]
        item = self.catalog.item(line.catalog_id)
        if item is None:
            return False
        update: dict[str, Any] = {}
        for m in self.mentions(norm, ("variation",)):
            v = next((item.variation(t.variation_id) for t in m.candidates if t.item_id == item.id and t.variation_id), None)
            if v is not None and v.id != line.variation_id:
                update["variation_id"], update["variation_name"] = v.id, v.name
        words = " ".join(t for t in tokenize(norm) if t not in ("make", "it", "that", "actually", "change"))
        result = parse_order(f"{item.name} {words}", self.catalog, st.language)
        parsed = next((p.line for p in result.lines if p.line.catalog_id == line.catalog_id), None)
        if parsed is not None and parsed.variation_id and "variation_id" not in update and parsed.variation_id != line.variation_id:
            update["variation_id"], update["variation_name"] = parsed.variation_id, parsed.variation_name
        if parsed is not None and parsed.modifiers:
            update["modifiers"] = self._merge_modifiers(item, line.modifiers, parsed.modifiers)
        if qty is not None:
            update["quantity"] = qty
        if not update:
            return False
        st.lines[index] = line.model_copy(update=update)
        st.touch(index)
        notes.append(P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip())
        return True

    def _merge_modifiers(self, item: Item, old: list[LineModifier], new: list[LineModifier]) -> list[LineModifier]:
        """New choices win; in a pick-one group (max 1) they replace the old one."""
        merged = {m.catalog_id: m for m in old}
        for m in new:
            found = self.catalog.modifier(item, m.catalog_id)
            if found is not None and found[0].max == 1 and m.qualifier is not Qualifier.NO:
                for other in [o.id for o in found[0].options if o.id != m.catalog_id]:
                    merged.pop(other, None)
            merged[m.catalog_id] = m
        return list(merged.values())

    def _replace_item(self, old_id: str, new: Any, norm: str, notes: list[str]) -> bool:
        st = self.state
        index = next(i for i in range(len(st.lines) - 1, -1, -1) if st.lines[i].catalog_id == old_id)
        old = st.lines[index]
        item = self.catalog.item(new.item_id)
        if item is None:
            return False
        if not item.available:
            notes.append(self._unavailable_text(item))
            return True
        variation = new.variation_id or (old.variation_id if item.variation(old.variation_id) else item.default_variation)
        v = item.variation(variation)
        st.lines[index] = OrderLine(
            catalog_id=item.id,
            name=item.name,
            quantity=old.quantity,
            variation_id=v.id if v else None,
            variation_name=v.name if v else None,
        )
        st.touch(index)
        notes.append(P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip())
        return True

    # ------------------------------------------------------------ new items

    def _add_items(self, text: str, norm: str, notes: list[str]) -> tuple[list[OrderLine], Reply | None]:
        st = self.state
        lang = st.language
        result = parse_order(text, self.catalog, lang)
        for p in result.lines:
            if p.line.quantity > self.pb.ticket.max_quantity:
                return [], self._refuse(f"absurd quantity: {p.line.quantity} x {p.line.name}", "refuse_quantity")
        sure = [p.line for p in result.lines if not p.needs_confirmation]
        unsure = [p.line for p in result.lines if p.needs_confirmation]
        self._append(sure)
        for un in result.unavailable:
            item = self._unavailable_item(un)
            if item is None:
                continue
            alt = self._alternative(item)
            notes.append(self._unavailable_text(item, alt))
            if alt is not None:
                qty = getattr(un, "quantity", 1) or 1
                v = self._same_size(alt, norm) or alt.variation(alt.default_variation)
                if v is None and alt.variations:
                    v = alt.variations[0] if len(alt.variations) == 1 else None
                line = OrderLine(catalog_id=alt.id, name=alt.name, quantity=qty,
                                 variation_id=v.id if v else None, variation_name=v.name if v else None)
                st.pending = Pending("alternative", [line])
                return sure, None
        if unsure:
            st.pending = Pending("guess", unsure)
            described = P.join_list([self._describe(self._priced_line(line)) for line in unsure], lang)
            notes.append(P.say("confirm_guess", lang, item=described))
        return sure, None

    def _append(self, lines: list[OrderLine]) -> None:
        st = self.state
        for line in lines:
            st.lines.append(line)
            st.touch(len(st.lines) - 1)

    def _same_size(self, item: Item, norm: str) -> Any:
        """The variation of `item` named like a size the caller said."""
        for m in self.mentions(norm, ("variation",)):
            said = {self.catalog.item(t.item_id).variation(t.variation_id).name.lower()  # type: ignore[union-attr]
                    for t in m.candidates if t.item_id and t.variation_id and self.catalog.item(t.item_id)}
            for v in item.variations:
                if v.name.lower() in said:
                    return v
        return None

    def _unavailable_item(self, un: Any) -> Item | None:
        item_id = getattr(un, "item_id", None) or getattr(un, "catalog_id", None)
        if item_id:
            return self.catalog.item(item_id)
        return None

    def _unavailable_text(self, item: Item, alt: Item | None = None) -> str:
        lang = self.state.language
        alternative = P.say("alternative", lang, name=alt.display_name(lang)) if alt else ""
        return P.say("unavailable", lang, name=item.display_name(lang), alternative=alternative)

    def _alternative(self, item: Item) -> Item | None:
        """An available item of the same category, closest in price."""
        price = item.base_price()
        same = [i for i in self.catalog.items if i.category == item.category and i.available and i.id != item.id]
        if not same:
            return None
        return min(same, key=lambda i: abs(i.base_price() - price))

    # ------------------------------------------------------------ slots

    def _slot_spec(self, slot_id: str | None) -> SlotSpec | None:
        return next((s for s in self.pb.ticket.slots if s.id == slot_id), None)

    def _fill_slots(self, text: str, norm: str, consumed: bool, notes: list[str]) -> bool:
        """Every slot value the utterance carries. Free-text slots take the
        words only when asked and when nothing else used them (`consumed`)."""
        st = self.state
        got = False
        asked = st.asking
        text_specs = []
        correcting = lexicon.contains(norm, lexicon.CHANGE[st.language] + lexicon.REMOVE[st.language])
        asked_spec = self._slot_spec(asked)
        free_answer = asked_spec is not None and asked_spec.type == "text" and not correcting and not consumed
        for spec in self.pb.ticket.slots:
            if spec.type == "text":
                text_specs.append(spec)
                continue
            if free_answer and spec.type in ("service", "choice"):
                continue  # "the screen stays black" describes the fault; it does not pick a repair
            value = self._extract(spec, text, norm, asked == spec.id, notes)
            if value is None:
                continue
            if isinstance(value, Reply):
                self._slot_error = value
                got = True
                continue
            if spec.id in st.slots and st.slots[spec.id] != value and spec.type not in ("service",):
                notes.append(P.say("noted", st.language))
            st.slots[spec.id] = value
            got = True
        for spec in text_specs:
            if asked == spec.id and (free_answer or not (consumed or got or correcting)) and len(norm) >= 2:
                st.slots[spec.id] = text.strip()
                got = True
        return got

    def _extract(self, spec: SlotSpec, text: str, norm: str, asked: bool, notes: list[str]) -> Any:
        lang = self.state.language
        t = spec.type
        if t == "fulfillment":
            for ftype, words in ((FulfillmentType.DELIVERY, lexicon.DELIVERY), (FulfillmentType.PICKUP, lexicon.PICKUP),
                                 (FulfillmentType.DINE_IN, lexicon.DINE_IN)):
                if lexicon.contains(norm, words[lang]) or lexicon.contains(norm, words["en"]):
                    if ftype in self.pb.ticket.fulfillment:
                        return ftype
            return None
        if t == "address":
            return S.parse_address(norm, asked)
        if t == "name":
            return S.parse_name(norm if lang != "en" else norm, lang, asked)
        if t == "phone":
            if lexicon.contains(norm, lexicon.CALLER_ID_OK[lang]) and self.caller:
                return self.caller
            return S.parse_phone(norm) if (asked or "number" in norm or "número" in norm or "电话" in norm) else None
        if t == "time":
            if lexicon.contains(norm, lexicon.ASAP[lang]) and (asked or "ready" in norm or "soon" in norm):
                return "asap"
            said = S.parse_time_of_day(norm)
            if said is None:
                return None
            when = S.resolve_time(said, self.now, S.parse_date(norm, self.now.date()))
            return self._check_order_time(when)
        if t in ("datetime", "date"):
            day = S.parse_date(norm, self.now.date())
            said = S.parse_time_of_day(norm) if t == "datetime" else None
            if day is None and said is None:
                return None
            if t == "date":
                return day.isoformat() if day else None
            partial = self.state.slots.get(f"_{spec.id}_day")
            if said is None:
                self.state.slots[f"_{spec.id}_day"] = day
                return None
            when = S.resolve_time(said, self.now, day or partial)
            return self._check_booking_time(when)
        if t == "number":
            unit = self._unit_for(spec, norm)
            if not asked and unit is None:
                return None
            n = unit if unit is not None else S.parse_count(norm)
            if n is None:
                return None
            if (spec.min is not None and n < spec.min) or (spec.max is not None and n > spec.max):
                return Reply(P.say("out_of_range", lang, slot=self._slot_label(spec), low=spec.min or 1,
                                   high=spec.max or n))
            return n
        if t == "choice":
            folded = f" {lexicon.fold(norm)} "
            for choice in spec.choices:
                forms = [choice, *spec.synonyms.get(choice, []), *lexicon.CHOICE_WORDS.get(choice.lower(), ())]
                for form in forms:
                    f = lexicon.fold(form.lower())
                    if (lexicon.has_cjk(f) and f in folded) or re.search(rf"\b{re.escape(f)}s?\b", folded):
                        return choice
            return None
        if t == "service":
            return self._service_from(spec, norm, asked, notes)
        if t == "staff":
            if re.search(r"\b(any|anyone|anybody|no preference|whoever|doesn't matter|cualquiera|quien sea)\b", norm) or "都可以" in norm:
                return "any"
            for member in self.pb.schedule.staff:
                if re.search(rf"\b{re.escape(lexicon.fold(member.name.lower().split()[0]))}\b", lexicon.fold(norm)):
                    return self._check_staff(member)
            return None
        if t == "text":
            if asked and len(norm) >= 2:
                return text.strip()
            return None
        return None

    _UNITS = {
        "guests": r"(?:people|persons|guests|adults|personas|huéspedes|huespedes|位|个人|人)",
        "nights": r"(?:nights?|noches?|晚上|晚|夜)",
        "party_size": r"(?:people|persons|guests|personas|位|人)",
    }

    def _unit_for(self, spec: SlotSpec, norm: str) -> int | None:
        """'for 2 nights, 3 guests' -> the number said right before the slot's unit."""
        unit = self._UNITS.get(spec.id)
        if unit is None:
            return None
        m = re.search(rf"([\w一二两三四五六七八九十]+)\s*{unit}", norm)
        if m is None:
            if spec.id == "party_size" and (m2 := re.search(r"party of (\w+)", norm)):
                return S.words_to_number(m2.group(1)) if not m2.group(1).isdigit() else int(m2.group(1))
            return None
        word = m.group(1)
        return int(word) if word.isdigit() else S.words_to_number(word)

    def _slot_label(self, spec: SlotSpec) -> str:
        return spec.id.replace("_", " ")

    def _service_from(self, spec: SlotSpec, norm: str, asked: bool, notes: list[str]) -> str | None:
        """The service the caller settles on: the last one named that is not
        being dropped ("forget the pedicure, just the manicure"). A service
        already chosen only changes when asked or on a correction."""
        st = self.state
        lang = st.language
        current = st.slots.get(spec.id)
        correcting = lexicon.contains(norm, lexicon.CHANGE[lang] + lexicon.REMOVE[lang] + lexicon.CHANGE["en"])
        if current is not None and not asked and not correcting and not re.search(r"\b(just|only|instead|solo|nada más)\b", norm):
            return None
        category = self.pb.ticket.service_category
        tokens = tokenize(norm)
        chosen: Item | None = None
        for m in self.mentions(norm, ("item",)):
            item = self.catalog.item(m.item_id) if m.item_id else None
            if item is None or (category is not None and item.category != category):
                continue
            before = " ".join(tokens[max(0, m.start - 3) : m.start])
            if lexicon.contains(before, lexicon.REMOVE[lang] + lexicon.REMOVE["en"]) or re.search(r"\bnot\b", before):
                continue
            chosen = item
        if chosen is None or chosen.id == current:
            return None
        if not chosen.available:
            alt = self._alternative(chosen)
            notes.append(self._unavailable_text(chosen, alt))
            if alt is not None:
                st.pending = Pending("service", rule_id=f"{spec.id}={alt.id}")
            return None
        return chosen.id

    def _check_staff(self, member: Any) -> str | Reply:
        """Staff who do not offer the chosen service are not booked for it."""
        service = self._service_id()
        if service is None or not member.services or service in member.services:
            return member.id
        lang = self.state.language
        able = [m.name for m in self.pb.schedule.staff if not m.services or service in m.services]
        item = self.catalog.item(service)
        return Reply(P.say("staff_cannot", lang, staff=member.name, service=item.display_name(lang) if item else service,
                           options=P.join_list(able, lang, "or")))

    def _service_spec(self) -> SlotSpec | None:
        return next((s for s in self.pb.ticket.slots if s.type == "service"), None)

    def _service_id(self) -> str | None:
        spec = self._service_spec()
        value = self.state.slots.get(spec.id) if spec else None
        return value if isinstance(value, str) else None

    def _check_order_time(self, when: datetime) -> datetime | Reply:
        earliest = self.now + timedelta(minutes=self.pb.ticket.min_lead_minutes)
        lang = self.state.language
        if not self.pb.business.is_open(when):
            return Reply(P.say("bad_time_closed", lang, time=self._when_text(when), hours=self._hours_text(when)))
        if when < earliest:
            return Reply(P.say("bad_time_soon", lang, earliest=P.clock(earliest.hour, earliest.minute, lang)))
        return when

    def _check_booking_time(self, when: datetime) -> datetime | Reply:
        sched = self.pb.schedule
        lang = self.state.language
        again = P.say("ask_datetime", lang)
        if when < self.now + timedelta(minutes=sched.lead_minutes) or when > self.now + timedelta(days=sched.horizon_days):
            return Reply(P.say("no_slot_free", lang, again=again))
        if when.minute % sched.slot_minutes:
            return Reply(P.say("no_slot_free", lang, again=again))
        duration = 0
        service = self.state.slots.get("service")
        item = self.catalog.item(service) if isinstance(service, str) else None
        if item is not None and item.duration_min:
            duration = item.duration_min
        if not self.pb.business.is_open(when) or not self.pb.business.is_open(when + timedelta(minutes=max(duration - 1, 0))):
            return Reply(P.say("bad_time_closed", lang, time=self._when_text(when), hours=self._hours_text(when)))
        return when

    def _missing_slots(self) -> list[SlotSpec]:
        out = []
        for spec in self.pb.ticket.slots:
            if spec.id in self.state.slots:
                continue
            if any(str(self._slot_value_text(self.state.slots.get(k))) != v for k, v in spec.when.items()):
                continue
            required = spec.required or (spec.type == "time" and self.state.closed_now)
            if required:
                out.append(spec)
        return out

    @staticmethod
    def _slot_value_text(value: Any) -> str:
        return value.value if isinstance(value, FulfillmentType) else str(value)

    def _first_missing_slot_id(self) -> str | None:
        missing = self._missing_slots()
        return missing[0].id if missing else None

    # ------------------------------------------------------------ what next

    def _next(self, lead: list[str] | None = None, added: list[OrderLine] | None = None) -> Reply:
        st = self.state
        lang = st.language
        lead = [t for t in (lead or []) if t]
        error = self._slot_error
        if error is not None:
            self._slot_error = None
            spec = self._slot_spec(st.asking)
            st.asking = spec.id if spec else st.asking
            return Reply(" ".join(lead + [error.text]), hints=self._hints())

        if self.pb.ticket.items and not st.lines:
            st.asking = "order"
            return Reply(" ".join(lead + [P.say("what_order", lang)]), hints=self._hints())
        detail = self._incomplete_line()
        if detail is not None:
            index, what = detail
            st.asking = f"detail:{index}:{what}"
            text = self._detail_question(index, what)
            if added:
                items = P.join_list([self._describe(self._priced_line(line)) for line in added], lang)
                lead = lead + [P.say("added", lang, items=items).split(". ")[0].rstrip(".") + "."]
            return Reply(" ".join(lead + [text]), hints=self._detail_hints(index, what))
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
            return Reply(" ".join(lead + [upsell]), hints=self._yes_no_hints())
        missing = self._missing_slots()
        if missing:
            st.asking = missing[0].id
            return Reply(" ".join(lead + [self._ask(missing[0])]), hints=self._hints())
        st.asking = "readback"
        return Reply(" ".join(lead + [self._readback()]), hints=self._yes_no_hints())

    def _incomplete_line(self) -> tuple[int, str] | None:
        """The first line missing a size or a required option with no default."""
        for index, line in enumerate(self.state.lines):
            item = self.catalog.item(line.catalog_id)
            if item is None:
                continue
            if len(item.variations) > 1 and line.variation_id is None and item.default_variation is None:
                return index, "size"
            chosen = {m.catalog_id for m in line.modifiers}
            for group in self.catalog.groups_of(item):
                if group.min == 0 or any(o.default for o in group.options):
                    continue
                if group.id not in item.modifier_groups:
                    continue  # nested groups are asked once their parent is chosen
                if not chosen & {o.id for o in group.options}:
                    return index, group.id
        return None

    def _detail_question(self, index: int, what: str) -> str:
        lang = self.state.language
        line = self.state.lines[index]
        item = self.catalog.item(line.catalog_id)
        assert item is not None
        name = item.display_name(lang)
        if what == "size":
            options = [v.display_name(lang) for v in item.variations if v.available]
            return P.say("ask_size", lang, item=name, options=P.join_list(options, lang, "or"))
        group = self.catalog.group(what)
        assert group is not None
        options = [o.display_name(lang) for o in group.options if o.available]
        return P.say("ask_option", lang, item=name, group=group.display_name(lang).lower(),
                     options=P.join_list(options, lang, "or"))

    def _detail_hints(self, index: int, what: str) -> tuple[str, ...]:
        item = self.catalog.item(self.state.lines[index].catalog_id)
        if item is None:
            return ()
        if what == "size":
            return tuple(v.display_name(self.state.language) for v in item.variations)
        group = self.catalog.group(what)
        return tuple(o.display_name(self.state.language) for o in group.options) if group else ()

    def _answer_detail(self, norm: str) -> Reply | None:
        """The answer to 'what size?' / 'which sauce?' applies to that line."""
        st = self.state
        if not (st.asking or "").startswith("detail:"):
            return None
        _, index_s, _what = st.asking.split(":", 2)  # type: ignore[union-attr]
        index = int(index_s)
        if index >= len(st.lines) or self.mentions(norm, ("item",)):
            return None
        notes: list[str] = []
        if not self._modify_line(index, norm, notes):
            return None
        return self._next(lead=notes)

    def _upsell(self) -> str | None:
        st = self.state
        categories = {self.catalog.item(line.catalog_id).category for line in st.lines if self.catalog.item(line.catalog_id)}
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
            line = OrderLine(catalog_id=item.id, name=item.name, variation_id=v.id if v else None,
                             variation_name=v.name if v else None)
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
            earliest = self.now + timedelta(minutes=self.pb.ticket.min_lead_minutes)
            return P.say("ask_time", lang, earliest=P.clock(earliest.hour, earliest.minute, lang))
        if t == "name":
            return P.say("ask_name" if self.pb.ticket.kind is TicketKind.ORDER else "ask_name_booking", lang)
        if t == "phone":
            if self.caller:
                self.state.pending = Pending("callerid")
                return P.say("ask_phone_callerid", lang, number=_spoken_number(self.caller))
            return P.say("ask_phone", lang)
        if t in ("datetime",):
            return P.say("ask_datetime", lang)
        if t == "date":
            return P.say("ask_date", lang)
        if t == "staff":
            service = self._service_id()
            names = [m.name for m in self.pb.schedule.staff if not service or not m.services or service in m.services]
            return P.say("ask_staff", lang, options=P.join_list(names, lang, "or"))
        if t == "service":
            category = self.pb.ticket.service_category
            names = [i.display_name(lang) for i in self.catalog.items if i.available and (category is None or i.category == category)]
            return P.say("what_service", lang, options=P.join_list(names[:6], lang))
        if t == "choice":
            return P.say("ask_choice", lang, slot=spec.id.replace("_", " "), options=P.join_list(spec.choices, lang))
        return P.say("ask_generic", lang, slot=spec.id.replace("_", " "))

    def _question_text(self) -> str:
        """The question in flight, to resume after an answer or a repeat."""
        st = self.state
        lang = st.language
        if st.asking == "readback":
            return self._readback()
        if st.asking == "order":
            return P.say("what_order", lang)
        if st.asking == "more":
            return P.say("anything_else", lang).split(". ")[-1] if lang == "en" else P.say("anything_else", lang)
        if st.asking == "edit":
            return P.say("what_change", lang)
        spec = self._slot_spec(st.asking)
        if spec is not None:
            pending, st.pending = st.pending, None
            text = self._ask(spec)
            st.pending = st.pending or pending
            return text
        return P.say("what_order", lang)

    def _readback(self) -> str:
        lang = self.state.language
        ticket = self._priced()
        total = P.money(ticket.total_minor, ticket.currency, lang)
        details = self._details_text(ticket)
        if self.pb.ticket.kind is TicketKind.ORDER:
            items = P.join_list([self._describe(line) for line in ticket.items], lang)
            return P.say("readback", lang, items=items, details=details, total=total)
        parts = [P.say("total_part", lang, total=total) if ticket.total_minor else P.say("no_charge_yet", lang)]
        if self.pb.ticket.deposit is not None:
            parts.append(P.say("deposit_part", lang, deposit=P.money(self._deposit_minor(), ticket.currency, lang)))
        return P.say("readback_booking", lang, details=details, total_part=" ".join(parts) + " ")

    def _details_text(self, ticket: Ticket) -> str:
        lang = self.state.language
        parts: list[str] = []
        if ticket.kind is not TicketKind.ORDER and ticket.items:
            parts.append(P.join_list([self._describe(line, with_qty=False) for line in ticket.items], lang))
        f = ticket.fulfillment
        if f is not None and self.pb.ticket.items:
            word = P.FULFILLMENT_WORDS[f.type.value][lang]
            if f.type is FulfillmentType.DELIVERY and f.address:
                word += {"en": f" to {f.address}", "es": f" en {f.address}", "zh": f"，送到{f.address}"}[lang]
            ftime = self.state.slots.get("time")
            if isinstance(ftime, datetime):
                word += {"en": " at ", "es": " a las ", "zh": " "}[lang] + self._when_text(ftime)
            else:
                minutes = self.pb.ticket.min_lead_minutes
                word += {"en": f" in about {minutes} minutes", "es": f" en unos {minutes} minutos",
                         "zh": f"，大约{minutes}分钟后"}[lang]
            parts.append(word)
        for spec in self.pb.ticket.slots:
            if spec.type in _PERSON_SLOT_TYPES or spec.type == "service" or spec.id not in self.state.slots:
                continue
            value = self.state.slots[spec.id]
            if isinstance(value, datetime):
                value = self._when_text(value)
            elif spec.type == "staff":
                value = self._staff_name(value)
            elif spec.type == "date":
                value = P.spoken_date(date.fromisoformat(value), lang)
            label = spec.label.get(lang) if spec.label else self._slot_label(spec)
            parts.append(f"{label}: {value}" if spec.type in ("text", "number", "choice", "date") else str(value))
        name = ticket.customer.name
        if name:
            parts.append({"en": f"under {name}", "es": f"a nombre de {name}", "zh": f"姓名{name}"}[lang])
        if not parts:
            return ""
        sep = "，" if lang == "zh" else ", "
        text = sep.join(parts)
        return text[:1].upper() + text[1:] + ("。" if lang == "zh" else ". ")

    def _when_text(self, when: datetime) -> str:
        lang = self.state.language
        clock = P.clock(when.hour, when.minute, lang)
        if when.date() == self.now.date():
            return clock
        if when.date() == self.now.date() + timedelta(days=1):
            day = {"en": "tomorrow", "es": "mañana", "zh": "明天"}[lang]
        else:
            day = P.spoken_date(when.date(), lang)
        return f"{day} {'at ' if lang == 'en' else ''}{clock}"

    def _staff_name(self, staff_id: Any) -> str:
        if staff_id == "any":
            return {"en": "with anyone available", "es": "con quien esté disponible", "zh": "任何人"}[self.state.language]
        member = next((m for m in self.pb.schedule.staff if m.id == staff_id), None)
        return ({"en": "with ", "es": "con ", "zh": ""}[self.state.language] + member.name) if member else str(staff_id)

    def _hours_text(self, on: datetime | None = None) -> str:
        """Opening hours of `on`'s day (default today), else the next open day."""
        lang = self.state.language
        b = self.pb.business
        if not b.hours:
            return {"en": "every day", "es": "todos los días", "zh": "每天"}[lang]
        day_dt = on or self.now
        today = day_dt.weekday()
        ranges = b.open_ranges(today)
        if ranges:
            spans = [f"{P.clock(a.hour, a.minute, lang)} {'to' if lang == 'en' else 'a' if lang == 'es' else '到'} "
                     f"{P.clock(bb.hour, bb.minute, lang)}" for a, bb in ranges]
            if day_dt.date() == self.now.date():
                day = {"en": "today from ", "es": "hoy de ", "zh": "今天"}[lang]
            else:
                day = P.DAY_NAMES[lang][today] + {"en": " from ", "es": " de ", "zh": ""}[lang]
            return day + P.join_list(spans, lang)
        for offset in range(1, 8):
            ranges = b.open_ranges((today + offset) % 7)
            if ranges:
                a, bb = ranges[0]
                name = P.DAY_NAMES[lang][(today + offset) % 7]
                return f"{name} {P.clock(a.hour, a.minute, lang)} - {P.clock(bb.hour, bb.minute, lang)}"
        return ""

    # ------------------------------------------------------------ ticket

    def _priced_line(self, line: OrderLine) -> OrderLine:
        return price_ticket(Ticket(items=[line]), self.catalog).items[0]

    def _priced(self) -> Ticket:
        return price_ticket(self.ticket(), self.catalog)

    def _deposit_minor(self) -> int:
        deposit = self.pb.ticket.deposit
        if deposit is None:
            return 0
        if deposit.per == "night":
            nights = self.state.slots.get("nights")
            return deposit.amount_minor * (nights if isinstance(nights, int) else 1)
        return deposit.amount_minor

    def ticket(self) -> Ticket:
        """The ticket as it stands (priced from the catalog)."""
        st = self.state
        spec = self.pb.ticket
        lines = list(st.lines)
        service = self._service_id()
        service_item = self.catalog.item(service) if service else None
        if service_item is not None and not spec.items:
            v = service_item.variation(service_item.default_variation)
            nights = st.slots.get("nights")
            qty = nights if spec.kind is TicketKind.RESERVATION and isinstance(nights, int) else 1
            lines = [OrderLine(catalog_id=service_item.id, name=service_item.name, quantity=qty,
                               variation_id=v.id if v else None, variation_name=v.name if v else None)]
        fulfillment = None
        ftype = st.slots.get("fulfillment")
        if spec.items:
            if ftype is None and len(spec.fulfillment) == 1:
                ftype = spec.fulfillment[0]
            when = st.slots.get("time")
            fulfillment = Fulfillment(
                type=ftype or spec.fulfillment[0],
                time=self._time_field(when) if isinstance(when, datetime) else None,
                address=st.slots.get("address"),
            )
        slots: dict[str, Any] = {}
        for s in spec.slots:
            if s.type in _PERSON_SLOT_TYPES or s.id not in st.slots:
                continue
            value = st.slots[s.id]
            if isinstance(value, datetime):
                value = value.isoformat(timespec="minutes")
            elif s.type == "service" and service_item is not None:
                value = service_item.name
            elif s.type == "staff":
                member = next((m for m in self.pb.schedule.staff if m.id == value), None)
                value = member.name if member else value
            slots[s.id] = value
        if not spec.items and spec.kind is not TicketKind.ORDER:
            for s in spec.slots:
                if s.type in ("address",) and s.id in st.slots:
                    slots[s.id] = st.slots[s.id]
        payment = PaymentIntent.PAY_AT_PICKUP
        if ftype is FulfillmentType.DELIVERY:
            payment = PaymentIntent.PAY_ON_DELIVERY
        if spec.deposit is not None:
            payment = PaymentIntent.DEPOSIT
            slots["deposit_minor"] = self._deposit_minor()
        phone = st.slots.get("phone")
        ticket = Ticket(
            kind=spec.kind,
            items=lines,
            fulfillment=fulfillment,
            customer=Customer(name=st.slots.get("name"), phone=phone if isinstance(phone, str) else None),
            slots=slots,
            payment=payment,
            currency=self.catalog.currency,
            business=self.pb.business.id,
            language=st.language,
            channel=self.pb.pos.channel,
        )
        priced = price_ticket(ticket, self.catalog)
        if not spec.items and spec.deposit is not None and not priced.items:
            priced = priced.model_copy(update={"total_minor": self._deposit_minor()})
        return priced

    def _time_field(self, when: datetime) -> str:
        if when.date() == self.now.date():
            return when.strftime("%H:%M")
        return when.isoformat(timespec="minutes")

    def _describe(self, line: OrderLine, with_qty: bool = True) -> str:
        lang = self.state.language
        item = self.catalog.item(line.catalog_id)
        name = item.display_name(lang) if item else line.name
        v = item.variation(line.variation_id) if item else None
        size = v.display_name(lang) if v else (line.variation_name or "")
        mods = []
        for m in line.modifiers:
            found = self.catalog.modifier(item, m.catalog_id) if item else None
            mname = found[1].display_name(lang) if found else m.name
            mods.append(_qualified(mname, m.qualifier.value, lang))
        if lang == "zh":
            head = (f"{line.quantity}份" if with_qty else "") + (f"{size}" if size else "") + name
            return head + (f"（{'，'.join(mods)}）" if mods else "")
        if lang == "es":
            head = (f"{line.quantity} " if with_qty else "") + name + (f" {size}" if size else "")
            return head + (" " + P.join_list(mods, lang) if mods else "")
        if with_qty and line.quantity > 1 and not name.endswith("s"):
            name += "es" if name.endswith(("ch", "sh", "x")) else "s"
        head = (f"{line.quantity} " if with_qty else "") + (f"{size} " if size else "") + name
        return head + (" with " + P.join_list(mods, lang) if mods else "")

    # ------------------------------------------------------------ endings

    def _commit(self) -> Reply:
        ticket = self._priced()
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
        return Reply(P.say(prompt, self.state.language), Action("transfer", reason, target or self.pb.escalation.default_target))

    def _refuse(self, reason: str, prompt: str = "refuse") -> Reply:
        self.finished = True
        return Reply(P.say(prompt, self.state.language), Action("refuse", reason))

    def _decide(self, decision: policy.Decision) -> Reply:
        if decision.action == "refuse":
            return self._refuse(decision.reason)
        return self._transfer(decision.reason, decision.target, decision.prompt)

    def _not_understood(self) -> Reply:
        st = self.state
        st.misunderstandings += 1
        if st.misunderstandings >= self.pb.escalation.max_misunderstandings:
            return self._transfer("repeated misunderstanding", None, "transfer_escalate")
        return Reply(P.say("not_understood", st.language, again=self._question_text()), hints=self._hints(), understood=False)

    def _follow_language(self, text: str, language: str | None) -> None:
        allowed = self.pb.business.languages
        guess = language if language in allowed else None
        if guess is None or guess == "en":
            guess = lexicon.guess_language(text, list(allowed)) or guess
        if guess and guess != self.state.language and guess in allowed:
            self.state.language = guess

    # ------------------------------------------------------------ hints

    def _yes_no_hints(self) -> tuple[str, ...]:
        lang = self.state.language
        return tuple(lexicon.YES[lang][:4] + lexicon.NO[lang][:3])

    def _hints(self) -> tuple[str, ...]:
        """Words the caller is likely to say next, to bias speech recognition."""
        cat = self.catalog
        lang = self.state.language
        spec = self._slot_spec(self.state.asking)
        if spec is not None and spec.type in ("name", "phone", "address", "time", "datetime", "date", "number"):
            return ()
        names = [i.display_name(lang) for i in cat.items if i.available][:40]
        return tuple(names)


def _qualified(name: str, qualifier: str, lang: str) -> str:
    words = {
        "en": {"extra": "extra {}", "light": "light {}", "no": "no {}", "on_the_side": "{} on the side",
               "swap": "{} instead", "normal": "{}"},
        "es": {"extra": "extra de {}", "light": "poco {}", "no": "sin {}", "on_the_side": "{} aparte",
               "swap": "{} en su lugar", "normal": "con {}"},
        "zh": {"extra": "多加{}", "light": "少{}", "no": "不要{}", "on_the_side": "{}另放", "swap": "换成{}",
               "normal": "加{}"},
    }
    return words.get(lang, words["en"]).get(qualifier, "{}").format(name)


def _spoken_number(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return " ".join(digits)

