"""Slot filling: the values of a ticket's slots out of any utterance, checked
against the Playbook (hours, lead time, schedule, staff, ranges).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import jellyfish

from agi.catalog import Item
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.replies import Reply
from agi.dialogue.state import Pending
from agi.playbook import SlotSpec
from agi.tickets import (
    FulfillmentType,
)


class SlotFillingMixin:
    """Part of DialogueEngine: everything that changes `state.slots`."""

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
            said = S.parse_time_of_day(norm) or (S.bare_time(norm) if asked else None)
            if said is None:
                return None
            when = S.resolve_time(said, self.now, S.parse_date(norm, self.now.date()))
            return self._check_order_time(when)
        if t in ("datetime", "date"):
            day = S.parse_date(norm, self.now.date())
            said = (S.parse_time_of_day(norm) or (S.bare_time(norm) if asked else None)) if t == "datetime" else None
            if day is None and said is None:
                return None
            if t == "date":
                return day.isoformat() if day else None
            partial = self.state.slots.get(f"_{spec.id}_day")
            if said is None:
                self.state.slots[f"_{spec.id}_day"] = day
                # "Friday" (or "Friday at 90", a time misheard) to "what day and
                # time?": the day is taken and only the time is asked for.
                return Reply(self._time_on_question(day)) if asked else None
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
                return Reply(
                    P.say("out_of_range", lang, slot=self._slot_label(spec), low=spec.min or 1, high=spec.max or n)
                )
            return n
        if t == "choice":
            folded = f" {lexicon.fold(norm)} "
            for choice in spec.choices:
                forms = [choice, *spec.synonyms.get(choice, []), *lexicon.CHOICE_WORDS.get(choice.lower(), ())]
                for form in forms:
                    f = lexicon.fold(form.lower())
                    if not asked and S.parse_date(f, self.now.date()) is not None:
                        continue  # "mañana" is tomorrow unless the morning is what was asked
                    if (lexicon.has_cjk(f) and f in folded) or re.search(rf"\b{re.escape(f)}s?\b", folded):
                        return choice
            return None
        if t == "service":
            return self._service_from(spec, norm, asked, notes)
        if t == "staff":
            if (
                re.search(r"\b(any|anyone|anybody|no preference|whoever|doesn't matter|cualquiera|quien sea)\b", norm)
                or "都可以" in norm
            ):
                return "any"
            for member in self.pb.schedule.staff:
                if re.search(rf"\b{re.escape(lexicon.fold(member.name.lower().split()[0]))}\b", lexicon.fold(norm)):
                    return self._check_staff(member)
            member = _staff_by_sound(self.pb.schedule.staff, norm, asked)
            return self._check_staff(member) if member is not None else None
        if t == "text":
            if asked and len(norm) >= 2:
                return text.strip()
            return None
        return None

    _UNITS = {
        "guests": r"(?:people|persons|guests|guess|adults|personas|huéspedes|huespedes|位|个人|人)",
        "nights": r"(?:nights?|ninth|noches?|晚上|晚|夜)",
        "party_size": r"(?:people|persons|guests|guess|personas|位|人)",
    }
    # Counts a recogniser writes as the word they sound like, right before a
    # unit: "for guests" is 4 guests, "make it for nights" 4 nights.
    _SOUNDS_LIKE_COUNT = {"for": "4", "fore": "4", "to": "2", "too": "2", "won": "1", "ate": "8"}

    def _unit_for(self, spec: SlotSpec, norm: str) -> int | None:
        """'for 2 nights, 3 guests' -> the number said right before the slot's unit."""
        unit = self._UNITS.get(spec.id)
        if unit is None:
            return None
        norm = re.sub(
            rf"\b({'|'.join(self._SOUNDS_LIKE_COUNT)})\s+(?:a\s+)?(?={unit}\b)",
            lambda m: self._SOUNDS_LIKE_COUNT[m.group(1)] + " ",
            norm,
        )
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
        if (
            current is not None
            and not asked
            and not correcting
            and not re.search(r"\b(just|only|instead|solo|nada más)\b", norm)
        ):
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
        if chosen is None:
            return None
        if chosen.id == current:
            return current  # said again ("just the gel manicure"): understood, nothing changes
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
        return Reply(
            P.say(
                "staff_cannot",
                lang,
                staff=member.name,
                service=item.display_name(lang) if item else service,
                options=P.join_list(able, lang, "or"),
            )
        )

    def _service_spec(self) -> SlotSpec | None:
        return next((s for s in self.pb.ticket.slots if s.type == "service"), None)

    def _service_id(self) -> str | None:
        spec = self._service_spec()
        value = self.state.slots.get(spec.id) if spec else None
        return value if isinstance(value, str) else None

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
        service = self.state.slots.get("service")
        item = self.catalog.item(service) if isinstance(service, str) else None
        if item is not None and item.duration_min:
            duration = item.duration_min
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


def _staff_by_sound(staff: list[Any], norm: str, asked: bool) -> Any | None:
    """A staff name as a recogniser may spell it: 'Anna' for Ana, 'May' for
    Mei, 'Marko' for Marco (same Metaphone code). Only where a name is
    expected, the answer to "with whom?" or the word after "with", since
    short codes are shared by common words ('my' sounds like Mei)."""
    words = re.findall(r"[a-z]+", lexicon.fold(norm))
    if not asked:
        words = [w for prev, w in zip(words, words[1:]) if prev in ("with", "con")]
    sounds = {jellyfish.metaphone(w) for w in words}
    found = [m for m in staff if jellyfish.metaphone(lexicon.fold(m.name.lower().split()[0])) in sounds]
    return found[0] if len(found) == 1 else None
