"""Slot filling: the values of a ticket's slots out of any utterance, checked
against the Playbook (hours, lead time, schedule, staff, ranges).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from agi.dialogue import address as A
from agi.dialogue import dates as D
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue import times as T
from agi.dialogue.counts import UNIT_OF_SLOT, count_of
from agi.dialogue.names import parse_name
from agi.dialogue.replies import Reply
from agi.dialogue.services import NOT_THIS_ONE
from agi.playbook import SlotSpec
from agi.tickets import (
    FulfillmentType,
)


class SlotFillingMixin:
    """Part of DialogueEngine: everything that changes `state.slots`."""

    # ------------------------------------------------------------ slots

    def _slot_spec(self, slot_id: str | None) -> SlotSpec | None:
        return next((s for s in self.pb.ticket.slots if s.id == slot_id), None)

    def _fill_slots(
        self, text: str, norm: str, consumed: bool, notes: list[str], asked: str | None = None
    ) -> bool:
        """Every slot value the utterance carries. Free-text slots take the
        words only when asked (`asked`, default the question in flight) and
        when nothing else used them (`consumed`)."""
        st = self.state
        got = False
        asked = asked or st.asking
        text_specs = []
        correcting = lexicon.contains(norm, lexicon.CHANGE[st.language] + lexicon.REMOVE[st.language])
        asked_spec = self._slot_spec(asked)
        # "the switch clicks but the light doesn't come on" describes the fault: a change
        # word counts with a word that puts something right ("sorry, it's actually a tablet").
        correcting = correcting and bool(_CORRECTING.search(norm))
        free_answer = asked_spec is not None and asked_spec.type == "text" and not consumed and not correcting
        # The name is read last: a turn that changed another value ("oh wait, it's five
        # guests") is no bare answer to "may I have your name?".
        ordered = sorted(self.pb.ticket.slots, key=lambda spec: spec.type == "name")
        for spec in ordered:
            if spec.type == "text":
                text_specs.append(spec)
                continue
            if free_answer and spec.type not in ("fulfillment",):
                # "the screen stays black" describes the fault; it does not pick a repair,
                # and "a fever since Saturday" sets no day
                continue
            bare_answer = asked == spec.id and not (spec.type == "name" and (got or correcting or consumed))
            value = self._extract(spec, text, norm, bare_answer, notes)
            if value is None:
                continue
            if isinstance(value, Reply):
                self._slot_error, self._slot_error_slot = value, spec.id
                got = True
                continue
            if spec.id in st.slots and st.slots[spec.id] != value and spec.type not in ("service",):
                notes.append(P.say("noted", st.language))
            if st.slots.get(spec.id) != value and spec.type in ("time", "datetime", "number"):
                st.focus = spec.id
            st.slots[spec.id] = value
            got = True
        for spec in text_specs:
            if asked == spec.id and (free_answer or not (consumed or got or correcting)) and len(norm) >= 2:
                st.slots[spec.id] = text.strip()
                got = True
        self._address_means_delivery()
        self._services_follow_device(notes)
        return got

    def _address_means_delivery(self) -> None:
        """An order's address is where it goes: giving one is asking for delivery."""
        st = self.state
        if not self.pb.ticket.items or FulfillmentType.DELIVERY not in self.pb.ticket.fulfillment:
            return
        has_address = any(s.type == "address" and s.id in st.slots for s in self.pb.ticket.slots)
        fulfillment = next((s for s in self.pb.ticket.slots if s.type == "fulfillment"), None)
        if has_address and fulfillment is not None and st.slots.get(fulfillment.id) is None:
            st.slots[fulfillment.id] = FulfillmentType.DELIVERY

    def _extract(self, spec: SlotSpec, text: str, norm: str, asked: bool, notes: list[str]) -> Any:
        lang = self.state.language
        t = spec.type
        if t == "fulfillment":
            for ftype, words in (
                (FulfillmentType.DELIVERY, lexicon.DELIVERY),
                (FulfillmentType.PICKUP, lexicon.PICKUP),
                (FulfillmentType.DINE_IN, lexicon.DINE_IN),
            ):
                if lexicon.contains(norm, words[lang]) or lexicon.contains(norm, words["en"]):
                    if ftype in self.pb.ticket.fulfillment:
                        return ftype
            return None
        if t == "address":
            value = A.parse_address(norm, asked)
            outside = A.outside_area(norm, self.pb.business.delivery_area) if value is not None else None
            return Reply(self._outside_area_text(outside)) if outside is not None else value
        if t == "name":
            name = parse_name(text, lang, asked)
            # "it's pepperoni" names a pizza, not the caller
            return None if name and not asked and self.mentions(lexicon.normalise(name)) else name
        if t == "phone":
            if lexicon.contains(norm, lexicon.CALLER_ID_OK[lang]) and self.caller:
                return self.caller
            said = asked or "number" in norm or "número" in norm or "电话" in norm
            return self._phone_number(S.parse_phone(norm)) if said else None
        if t == "time":
            if lexicon.contains(norm, lexicon.ASAP[lang]) and (asked or "ready" in norm or "soon" in norm):
                return "asap"
            said = T.parse_time_of_day(norm) or (T.bare_time(norm) if asked else None)
            if said is None:
                self._remember_day_said(spec, norm)  # "can I order for tomorrow morning?"
                return None
            said = T.with_ampm(said, self.state.slots.get(f"_{spec.id}_ampm"))
            said_day = D.parse_date(norm, self.now.date())
            day = said_day or self.state.slots.get(f"_{spec.id}_day") or self._day_already_given(spec)
            if said_day is not None:
                self.state.slots[f"_{spec.id}_day"] = said_day  # kept when this time is refused
            when = T.resolve_time(said, self.now, day)
            return self._check_order_time(when)
        if t in ("datetime", "date"):
            day = D.parse_date(norm, self.now.date())
            said = (T.parse_time_of_day(norm) or (T.bare_time(norm) if asked else None)) if t == "datetime" else None
            if day is None and said is None:
                return None
            if t == "date":
                return self._check_booking_day(day) if day else None
            partial = self.state.slots.get(f"_{spec.id}_day")
            current = self.state.slots.get(spec.id)
            if said is None and isinstance(current, datetime):
                # "can we do Sunday instead, same time?": the day moves, the time stays
                said = T.TimeOfDay(current.hour, current.minute, "am" if current.hour < 12 else "pm")
            if said is None:
                self._remember_day_said(spec, norm)
                # "Friday" (or "Friday at 90", a time misheard) to "what day and
                # time?": the day is taken and only the time is asked for.
                return Reply(self._time_on_question(day)) if asked and day is not None else None
            said = T.with_ampm(said, self.state.slots.get(f"_{spec.id}_ampm"))
            on = day or partial or self._day_already_given(spec)
            if day is not None:
                # a day said with a time that is refused stays for the next try ("ten in the morning then")
                self.state.slots[f"_{spec.id}_day"] = day
            return self._check_booking_time(T.resolve_time(said, self.now, on))
        if t == "number":
            unit = self._unit_for(spec, norm)
            if not asked and unit is None:
                return None
            n = unit if unit is not None else S.parse_count(norm)
            if n is None:
                return None
            if (spec.min is not None and n < spec.min) or (spec.max is not None and n > spec.max):
                return Reply(
                    P.say("out_of_range", lang, slot=self._slot_label(spec), low=spec.min or 1, high=spec.max or n)
                )
            return n
        if t == "choice":
            return self._choice_said(spec, norm, asked)
        if t == "service":
            return self._service_from(spec, norm, asked, notes)
        if t == "staff":
            return self._staff_said(norm, asked)
        if t == "text":
            if asked and len(norm) >= 2:
                return text.strip()
            return None
        return None

    def _phone_number(self, digits: str | None) -> str | None:
        """A number said as the caller ID would carry it: '802 555 0199' is +18025550199 where
        the caller or the business is in the North American numbering plan."""
        if digits is None or digits.startswith("+"):
            return digits
        nanp = (self.caller or "").startswith("+1") or str(self.pb.business.tz).startswith("America/")
        if nanp and len(digits) == 10:
            return "+1" + digits
        if nanp and len(digits) == 11 and digits.startswith("1"):
            return "+" + digits
        return digits

    def _outside_area_text(self, place: str) -> str:
        """'We don't deliver to Naperville', with the area served and what the caller can do instead."""
        lang = self.state.language
        b = self.pb.business
        area = b.delivery_area_text or P.join_list(b.delivery_area, lang)
        if not self.pb.ticket.items:
            key = "outside_area_visit"
        elif FulfillmentType.PICKUP in self.pb.ticket.fulfillment:
            key = "outside_area_order"
        else:
            key = "outside_area_only"
        return P.say(key, lang, place=place, area=area)

    def _remember_day_said(self, spec: SlotSpec, norm: str) -> None:
        """A day or part of the day said before the time ("for tomorrow morning"), kept
        for when the time comes ("around seven fifteen" is then 7:15 tomorrow morning)."""
        day = D.parse_date(norm, self.now.date())
        if day is not None:
            self.state.slots[f"_{spec.id}_day"] = day
        part = T.daypart(norm) if T.LATER_DAYPART.search(norm) else None
        if part is not None:
            self.state.slots[f"_{spec.id}_ampm"] = part

    def _day_already_given(self, spec: SlotSpec) -> Any:
        """The day of the time already taken: "tomorrow at 3", then "change it to 4",
        is tomorrow at 4 (a new time alone moves the hour, not the day)."""
        current = self.state.slots.get(spec.id)
        if isinstance(current, datetime) and current.date() != self.now.date():
            return current.date()
        return None

    def _choice_said(self, spec: SlotSpec, norm: str, asked: bool) -> str | None:
        """The choice named last that is not being dropped: "it's my laptop, not my phone"
        is the laptop; "mañana" is the morning only when the morning is what was asked."""
        folded = f" {lexicon.fold(T.GREETING.sub(' ', norm))} "  # "buenas tardes" picks no afternoon
        said: list[tuple[int, str]] = []
        for choice in spec.choices:
            forms = [choice, *spec.synonyms.get(choice, []), *lexicon.CHOICE_WORDS.get(choice.lower(), ())]
            for form in forms:
                f = lexicon.fold(form.lower())
                if not asked and D.parse_date(f, self.now.date()) is not None and not f.startswith(("en ", "de ", "por ")):
                    continue
                if lexicon.has_cjk(f):
                    hits = [m.start() for m in re.finditer(re.escape(f), folded)]
                else:
                    hits = [m.start() for m in re.finditer(rf"\b{re.escape(f)}s?\b", folded)]
                said += [(at, choice) for at in hits if not NOT_THIS_ONE.search(folded[:at].rstrip() + " ")]
        return max(said)[1] if said else None

    def _unit_for(self, spec: SlotSpec, norm: str) -> int | None:
        """'for a week', 'five of us', '3 nights, 2 guests' -> the count of the slot's unit."""
        unit = UNIT_OF_SLOT.get(spec.id)
        return count_of(unit, norm) if unit is not None else None

    def _slot_label(self, spec: SlotSpec) -> str:
        return spec.id.replace("_", " ")

    def _time_on_question(self, day: Any) -> str:
        """'What time on Friday November 27?', 'What time tomorrow?'."""
        lang = self.state.language
        if day == self.now.date():
            spoken = {"en": "today", "es": "hoy", "zh": "今天"}[lang]
        elif day == self.now.date() + timedelta(days=1):
            spoken = self._day_words(day)
        else:
            spoken = {"en": "on ", "es": "el ", "zh": ""}[lang] + self._day_words(day)
        return P.say("ask_time_on", lang, day=spoken)

    def _earliest(self) -> datetime:
        """Now plus the lead time; when that falls in closed hours, the next
        opening plus the lead time (the kitchen starts when it opens)."""
        lead = timedelta(minutes=self.pb.ticket.min_lead_minutes)
        candidate = self.now + lead
        if self.pb.business.is_open(candidate):
            return candidate
        for offset in range(8):
            day = (self.now + timedelta(days=offset)).date()
            for start, _end in self.pb.business.open_ranges(day.weekday()):
                opening = datetime.combine(day, start, self.now.tzinfo)
                if opening > self.now:
                    return opening + lead
        return candidate

    def _check_order_time(self, when: datetime) -> datetime | Reply:
        earliest = self._earliest()
        lang = self.state.language
        if not self.pb.business.is_open(when):
            return Reply(P.say("bad_time_closed", lang, time=self._at_phrase(when), hours=self._hours_text(when)))
        if when < earliest:
            return Reply(P.say("bad_time_soon", lang, earliest=self._when_text(earliest)))
        return when

    def _check_booking_day(self, day: Any) -> str | Reply:
        """A day the business is closed is no day for a visit: said so, with the hours."""
        lang = self.state.language
        if not self.pb.business.open_ranges(day.weekday()) and self.pb.business.hours:
            on = datetime.combine(day, datetime.min.time(), self.now.tzinfo)
            return Reply(P.say("closed_day", lang, day=P.spoken_date(day, lang), hours=self._hours_text(on)))
        return day.isoformat()

    def _check_booking_time(self, when: datetime) -> datetime | Reply:
        sched = self.pb.schedule
        lang = self.state.language
        again = P.say("ask_datetime", lang)
        if when < self.now + timedelta(minutes=sched.lead_minutes) or when > self.now + timedelta(
            days=sched.horizon_days
        ):
            return Reply(P.say("no_slot_free", lang, again=again))
        if when.minute % sched.slot_minutes:
            return Reply(P.say("no_slot_free", lang, again=again))
        duration = 0
        for service in self._service_ids():
            item = self.catalog.item(service)
            duration += item.duration_min if item is not None and item.duration_min else 0
        if not self.pb.business.is_open(when) or not self.pb.business.is_open(
            when + timedelta(minutes=max(duration - 1, 0))
        ):
            return Reply(P.say("bad_time_closed", lang, time=self._at_phrase(when), hours=self._hours_text(when)))
        return when

    def _missing_slots(self) -> list[SlotSpec]:
        out = []
        for spec in self.pb.ticket.slots:
            if spec.id in self.state.slots:
                continue
            if any(str(self._slot_value_text(self.state.slots.get(k))) != v for k, v in spec.when.items()):
                continue
            # a pickup time is asked when the shop is closed now, or a day was said without one
            day_said = self.state.slots.get(f"_{spec.id}_day") not in (None, self.now.date())
            required = spec.required or (spec.type == "time" and (self.state.closed_now or day_said))
            if required:
                out.append(spec)
        return out

    @staticmethod
    def _slot_value_text(value: Any) -> str:
        return value.value if isinstance(value, FulfillmentType) else str(value)

    def _first_missing_slot_id(self) -> str | None:
        missing = self._missing_slots()
        return missing[0].id if missing else None


_CORRECTING = re.compile(
    r"\b(?:actually|sorry|wait|i mean|instead|rather|not the|not my|not a|make it|make that|change it|"
    r"mejor|perdón|perdon|en realidad|quise decir)\b|不是|其实|改成"
)
