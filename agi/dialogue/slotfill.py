"""Slot filling: the values of a ticket's slots out of any utterance, checked
against the Playbook (hours, lead time, schedule, staff, ranges).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import jellyfish

from agi.catalog import Item
from agi.dialogue import address as A
from agi.dialogue import dates as D
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue import times as T
from agi.dialogue.counts import UNIT_OF_SLOT, count_of
from agi.dialogue.names import parse_name
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
            # Unasked, a staff member is named after "with" or a title: "Laura Chen" answering
            # "may I have your name?" is the caller, not Nurse Practitioner Chen.
            named = _staff_named(self.pb.schedule.staff, norm, anchored=not asked)
            if named is not None:
                return self._check_staff(named)
            if _ANY_STAFF.search(norm) or (asked and _ANY_STAFF_ASKED.search(norm)) or "都可以" in norm or "谁都行" in norm:
                return "any"
            member = _staff_by_sound(self.pb.schedule.staff, norm, asked)
            return self._check_staff(member) if member is not None else None
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
        part = T.daypart(norm)
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
        folded = f" {lexicon.fold(norm)} "
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
                said += [(at, choice) for at in hits if not _NOT_THIS_ONE.search(folded[:at].rstrip() + " ")]
        return max(said)[1] if said else None

    def _unit_for(self, spec: SlotSpec, norm: str) -> int | None:
        """'for a week', 'five of us', '3 nights, 2 guests' -> the count of the slot's unit."""
        unit = UNIT_OF_SLOT.get(spec.id)
        return count_of(unit, norm) if unit is not None else None

    def _slot_label(self, spec: SlotSpec) -> str:
        return spec.id.replace("_", " ")

    def _service_from(self, spec: SlotSpec, norm: str, asked: bool, notes: list[str]) -> str | list[str] | None:
        """The services the caller settles on: every one named that is not being
        dropped ("a blowout and a classic manicure", "forget the pedicure, just the
        manicure", "a pedicure instead of the manicure"). Services already chosen
        only change when asked, on a correction, or when one is added ("also a
        pedicure"). One service is its id; several, their ids in the order said."""
        st = self.state
        lang = st.language
        current = service_ids(st.slots.get(spec.id))
        correcting = lexicon.contains(norm, lexicon.CHANGE[lang] + lexicon.REMOVE[lang] + lexicon.CHANGE["en"])
        only = re.search(r"\b(just|only|instead|rather|solo|nada más|nada mas)\b", norm) or "只要" in norm
        adding = re.search(r"\b(add|also|too|as well|plus|another|también|tambien|además|ademas)\b", norm) or "还要" in norm
        if current and not asked and not correcting and not only and not adding:
            return None
        category = self.pb.ticket.service_category
        tokens = tokenize(norm)
        chosen: list[Item] = []
        said_as: dict[str, set[str]] = {}  # item id -> the words it was named by
        device_words = self._device_words()
        for m in self.mentions(norm, ("item",)):
            item = self.catalog.item(m.item_id) if m.item_id else None
            if item is None or (category is not None and item.category != category):
                continue
            if set(tokenize(m.text)) <= device_words:
                continue  # "my iPad won't charge": the device, not an iPad screen
            item = self._for_device(item)
            before = " ".join(tokens[max(0, m.start - 3) : m.start])
            if lexicon.contains(before, lexicon.REMOVE[lang] + lexicon.REMOVE["en"]) or re.search(
                r"\b(not|instead of|rather than|en vez de|en lugar de)\b", before
            ):
                continue
            said_as.setdefault(item.id, set()).update(tokenize(m.text))
            if item not in chosen:
                chosen.append(item)
        # "a haircut ... a kids haircut": the plain word is the kids haircut said first
        chosen = [i for i in chosen if not any(o is not i and said_as[i.id] < said_as[o.id] for o in chosen)]
        if not chosen and self.state.topic is not None and _ONE_OF_THOSE.search(norm):
            topic = self.catalog.item(self.state.topic)  # "how much is a men's haircut?" ... "book me one"
            chosen = [topic] if topic is not None and (category is None or topic.category == category) else []
        if not chosen:
            return None
        missing = next((item for item in chosen if not item.available), None)
        if missing is not None:
            alt = self._alternative(missing)
            if alt is not None and self._names_other_device(alt):
                alt = None  # no laptop screen for a cracked iPad
            if alt is None or len(chosen) > 1:
                # nothing like it to offer: the caller hears so and is asked what else
                return Reply(f"{self._unavailable_text(missing)} {self._ask(spec)}")
            notes.append(self._unavailable_text(missing, alt))
            st.pending = Pending("service", rule_id=f"{spec.id}={alt.id}")
            return None
        ids = [item.id for item in chosen]
        if adding and not only and not correcting:
            ids = current + [i for i in ids if i not in current]
        if ids == current:
            return st.slots.get(spec.id)  # said again ("just the gel manicure"): understood, nothing changes
        return ids[0] if len(ids) == 1 else ids

    def _device_spec(self) -> SlotSpec | None:
        """The choice slot whose choices name the catalog's services ("phone" in "phone
        battery replacement"): the device a repair is priced for."""
        names = {w for i in self.catalog.items for w in tokenize(i.name)}
        return next(
            (s for s in self.pb.ticket.slots if s.type == "choice" and sum(c in names for c in s.choices) >= 2), None
        )

    def _device_words(self) -> set[str]:
        spec = self._device_spec()
        if spec is None:
            return set()
        words: set[str] = set()
        for choice in spec.choices:
            for form in (choice, *spec.synonyms.get(choice, []), *lexicon.CHOICE_WORDS.get(choice.lower(), ())):
                words.update(tokenize(form))
        return words

    def _for_device(self, item: Item) -> Item:
        """The same service for the device said: a MacBook's battery is the laptop battery
        replacement, not the phone one (the item named alike with the device word swapped)."""
        spec = self._device_spec()
        device = self.state.slots.get(spec.id) if spec is not None else None
        if spec is None or not isinstance(device, str):
            return item
        words = tokenize(item.name)
        named = [w for w in words if w in spec.choices]
        if not named or device in named:
            return item
        wanted = [device if w in named else w for w in words]
        # the device's own, even when it is 86'd: the caller then hears so, and what else can be done
        return next((i for i in self.catalog.items if tokenize(i.name) == wanted), item)

    def _names_other_device(self, item: Item) -> bool:
        spec = self._device_spec()
        device = self.state.slots.get(spec.id) if spec is not None else None
        named = [w for w in tokenize(item.name) if spec is not None and w in spec.choices]
        return bool(named) and isinstance(device, str) and device not in named

    def _services_follow_device(self, notes: list[str]) -> None:
        """A device corrected after the service was chosen ("wait, it's my laptop") moves
        the service to that device's, said back with its price."""
        spec = self._service_spec()
        if spec is None:
            return
        ids = service_ids(self.state.slots.get(spec.id))
        moved = [self._for_device(self.catalog.item(i)).id if self.catalog.item(i) else i for i in ids]
        if moved != ids:
            self.state.slots[spec.id] = moved[0] if len(moved) == 1 else moved

    def _check_staff(self, member: Any) -> str | Reply:
        """Staff who do not offer every chosen service are not booked for them."""
        services = self._service_ids()
        service = next((x for x in services if member.services and x not in member.services), None)
        if service is None:
            return member.id
        lang = self.state.language
        able = [m.name for m in self.pb.schedule.staff if not m.services or all(x in m.services for x in services)]
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
        """The first service chosen (staff and schedules are checked against each)."""
        ids = self._service_ids()
        return ids[0] if ids else None

    def _service_ids(self) -> list[str]:
        spec = self._service_spec()
        return service_ids(self.state.slots.get(spec.id)) if spec else []

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


_ONE_OF_THOSE = re.compile(r"\b(?:book me one|book one|one of those|that one|i'll take it|i'll take one|let's do it|"
                           r"let's do that|book it|i'll do it|i'll have that|sign me up|reserve one)\b|\bone\b")


def service_ids(value: Any) -> list[str]:
    """The service slot's value as a list: one id, or several in the order said."""
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


_ANY_STAFF = re.compile(
    r"\b(?:anyone|anybody|no preference|whoever|whoever's|doesn't matter|don't mind|either one|any of them|"
    r"first available|whoever is free|cualquiera|quien sea|me da igual|no importa)\b"
)
# Words that mean anyone only as the answer to "with whom?" ("any sick visits on Saturday?" asks no stylist).
_ANY_STAFF_ASKED = re.compile(r"\b(?:any|either|both)\b")
# Words of a staff member's name that do not tell one from another ("Dr. Garcia", "Nurse Practitioner Chen").
_TITLES = {"dr", "doctor", "doctora", "nurse", "practitioner", "np", "pa", "mr", "mrs", "ms", "miss", "md", "rn"}
_NOT_THIS_ONE = re.compile(
    r"\b(?:not|instead of|rather than|other than|en vez de|en lugar de|no)\s+(?:with\s+|con\s+|my\s+|the\s+|a\s+|an\s+|mi\s+|el\s+|la\s+)?$|不是$"
)


_STAFF_ANCHOR = re.compile(
    r"\b(?:with|con|see|by|from|para ver a|dr|doctor|doctora|nurse|practitioner|np)\s+(?:(?:the|el|la|dr|doctor|doctora)\s+)?$"
)


def _staff_named(staff: list[Any], norm: str, anchored: bool = False) -> Any | None:
    """The staff member the caller asks for by a word of their name ("with Dr. Garcia",
    "con el doctor García", "Nurse Practitioner Chen"); one named after "instead of" or
    "not" is the one being dropped ("with Ana instead of Marco")."""
    folded = lexicon.fold(norm)
    found: list[tuple[bool, int, Any]] = []
    for member in staff:
        words = [w for w in re.findall(r"[a-z]+", lexicon.fold(member.name.lower())) if w not in _TITLES]
        for word in words:
            for m in re.finditer(rf"\b{re.escape(word)}\b", folded):
                before = folded[: m.start()]
                if not _NOT_THIS_ONE.search(before):
                    # "this is Ana, a haircut with Marco": the one after "with" is the stylist
                    after_with = bool(_STAFF_ANCHOR.search(before))
                    if after_with or not anchored:
                        found.append((not after_with, m.start(), member))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


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
