"""What the bot asks next, and the words that help the recogniser hear the answer.

After every turn the same order is kept: a value refused is asked again, then a
rule the whole ticket breaks, the order's items, a detail a line lacks (size,
option, count), "anything else?", an upsell, the missing slots, the read-back.
"""

from __future__ import annotations

import re

from agi.dialogue import hints
from agi.dialogue import prompts as P
from agi.dialogue.replies import Reply
from agi.dialogue.state import Asking, Pending, PendingKind
from agi.playbook import SlotSpec
from agi.tickets import FulfillmentType, OrderLine, TicketKind


class AskingMixin:
    """Part of DialogueEngine: the next question and its hints."""

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
            st.asking = Asking.ORDER
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
            st.asking = Asking.MORE
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
        st.asking = Asking.READBACK
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
            st.pending = Pending(PendingKind.UPSELL, [line], rule.id)
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
                self.state.pending = Pending(PendingKind.CALLERID)
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
        if st.asking == Asking.READBACK:
            return self._readback()
        if st.asking == Asking.CONFIRM_CALLER:
            return P.say("confirm_caller", lang)
        if st.asking == Asking.ORDER:
            return P.say("what_order", lang)
        if st.asking == Asking.MORE:
            return P.say("anything_else", lang).split(". ")[-1] if lang == "en" else P.say("anything_else", lang)
        if st.asking == Asking.EDIT:
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

    def _hints(self) -> tuple[str, ...]:
        """Words the caller is likely to say next, to bias speech recognition.

        Worked out from the question in the air, so a question asked again
        ("Sorry, I didn't catch that. Shall I place the order?") gets the
        same hints as the first time."""
        st = self.state
        lang = st.language
        if st.pending is not None:
            if st.pending.kind == PendingKind.WHICH:
                return hints.limit(tuple(line.name for line in st.pending.lines))
            # A yes or a no ("Is 303 555 0101 the best number?", "Did you
            # say ...?", "Would you like ... instead?"); with no hint at all
            # tiny.en let a formant voice's "yes" go as no speech.
            return hints.yes_no(lang)
        if st.asking == Asking.READBACK:
            return hints.yes_no(lang)
        asked = self._detail_asked()
        if asked is not None and asked[0] < len(st.lines):
            return self._detail_hints(*asked)
        spec = self._slot_spec(st.asking)
        if spec is not None:
            return hints.limit(hints.for_slot(spec, self.pb, self.catalog, lang))
        order = hints.for_order(self.pb, self.catalog, lang, st.slots)
        if st.asking == Asking.MORE:
            return hints.limit(hints.done_words(lang) + order)
        return hints.limit(order)


def _spoken_number(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return " ".join(digits)
