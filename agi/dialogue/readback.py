"""The ticket as it stands and how it is read back: line descriptions, the
read-back with its total, spoken times and hours, and the Ticket itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from agi.dialogue import prompts as P
from agi.dialogue.services import service_ids
from agi.playbook import SlotSpec
from agi.tickets import (
    Customer,
    Fulfillment,
    FulfillmentType,
    OrderLine,
    PaymentIntent,
    Ticket,
    TicketKind,
    price_ticket,
)

# Slots that fill the ticket's fulfillment and customer, not `Ticket.slots`.
PERSON_SLOT_TYPES = {"fulfillment", "time", "name", "phone", "address"}


class ReadbackMixin:
    """Part of DialogueEngine: turns the dialogue state into words and into a Ticket."""

    def _readback(self) -> str:
        lang = self.state.language
        ticket = self._priced()
        self.state.read_back = ticket.to_public()
        total = P.money(ticket.total_minor, ticket.currency, lang)
        details = self._details_text(ticket)
        if self.pb.ticket.kind is TicketKind.ORDER:
            items = P.join_list([self._describe(line) for line in ticket.items], lang)
            return P.say("readback", lang, items=items, details=details, total=total)
        parts = [P.say("total_part", lang, total=total) if ticket.total_minor else P.say("no_charge_yet", lang)]
        if self.pb.ticket.deposit is not None:
            parts.append(P.say("deposit_part", lang, deposit=P.money(self._deposit_minor(), ticket.currency, lang)))
        sep = "" if lang == "zh" else " "
        return P.say("readback_booking", lang, details=details, total_part=sep.join(parts) + sep)

    def _details_text(self, ticket: Ticket) -> str:
        lang = self.state.language
        parts: list[str] = []
        if ticket.kind is not TicketKind.ORDER and ticket.items:
            parts.append(P.join_list([self._describe(line, with_qty=False) for line in ticket.items], lang))
        f = ticket.fulfillment
        if f is not None and self.pb.ticket.items:
            parts.append(self._fulfillment_text(f))
        for spec in self.pb.ticket.slots:
            if spec.type == "address" and not self.pb.ticket.items and spec.id in self.state.slots:
                address = self.state.slots[spec.id]  # a visit's address: read back so a misheard one is caught
                parts.append({"en": f"at {address}", "es": f"en {address}", "zh": f"地址{address}"}[lang])
        for spec in self.pb.ticket.slots:
            if spec.type in PERSON_SLOT_TYPES or spec.type == "service" or spec.id not in self.state.slots:
                continue
            parts.append(self._slot_fragment(spec))
        name = ticket.customer.name
        if name:
            parts.append({"en": f"under {name}", "es": f"a nombre de {name}", "zh": f"姓名{name}"}[lang])
        if not parts:
            return ""
        sep = "，" if lang == "zh" else ", "
        text = sep.join(parts)
        return text[:1].upper() + text[1:] + ("。" if lang == "zh" else ". ")

    def _fulfillment_text(self, f: Fulfillment, lead_time: bool = True) -> str:
        """'pickup at 7:45 pm', 'delivery to 12 Oak Street in about 30 minutes'."""
        lang = self.state.language
        word = P.FULFILLMENT_WORDS[f.type.value][lang]
        if f.type is FulfillmentType.DELIVERY and f.address:
            word += {"en": f" to {f.address}", "es": f" en {f.address}", "zh": f"，送到{f.address}"}[lang]
        ftime = self.state.slots.get("time")
        if isinstance(ftime, datetime):
            return word + {"en": " at ", "es": " a las ", "zh": " "}[lang] + self._when_text(ftime)
        if not lead_time:
            return word
        minutes = self.pb.ticket.min_lead_minutes
        return word + {
            "en": f" in about {minutes} minutes",
            "es": f" en unos {minutes} minutos",
            "zh": f"，大约{minutes}分钟后",
        }[lang]

    def _slot_fragment(self, spec: SlotSpec) -> str:
        """One Ticket.slots value as it is read back ("nights: 3", "tomorrow at 10 am")."""
        lang = self.state.language
        value = self.state.slots[spec.id]
        if isinstance(value, datetime):
            value = self._when_text(value)
        elif spec.type == "staff":
            value = self._staff_name(value)
        elif spec.type == "date":
            value = P.spoken_date(date.fromisoformat(value), lang)
        elif spec.type == "choice":
            value = spec.choice_text(str(value), lang)
        label = spec.label.get(lang) if spec.label else self._slot_label(spec)
        colon = "：" if lang == "zh" else ": "
        return f"{label}{colon}{value}" if spec.type in ("text", "number", "choice", "date") else str(value)

    def _acknowledgement(self, before: dict[str, Any], with_items: bool = False) -> str:
        """The values this turn gave, said back at once ("Got it, reason: a sore
        throat."), so a misheard one is heard while the caller still remembers
        saying it and can be put right with "no, I said ..."."""
        lang = self.state.language
        slots = self.state.slots
        changed = [s for s in self.pb.ticket.slots if s.id in slots and before.get(s.id) != slots[s.id]]
        parts: list[str] = []
        name: str | None = None
        if any(s.type in ("fulfillment", "time") or (s.type == "address" and self.pb.ticket.items) for s in changed):
            fulfillment = self._priced().fulfillment  # pickup/delivery, its time and address, said as one
            if fulfillment is not None:
                parts.append(self._fulfillment_text(fulfillment, not with_items))
        for spec in changed:
            if spec.type == "name":
                name = str(slots[spec.id])
            elif spec.type in ("fulfillment", "time", "phone") or (spec.type == "address" and self.pb.ticket.items):
                continue
            elif spec.type == "address":
                parts.append(str(slots[spec.id]))
            elif spec.type == "service":
                names = [self._item_name(x) for x in service_ids(slots[spec.id])]
                parts.append(P.join_list(names, lang))
            else:
                parts.append(self._slot_fragment(spec))
        out = []
        what = ("，" if lang == "zh" else ", ").join(parts)
        if parts and with_items:  # follows the items' own "Got it, ..."
            out.append(P.say("also_got", lang, what=what, What=what[:1].upper() + what[1:]))
        elif parts:
            out.append(P.say("got_it", lang, what=what))
        if name:
            out.append(P.say("thanks_name", lang, name=name))
        return ("" if lang == "zh" else " ").join(out)

    def _item_name(self, item_id: str) -> str:
        item = self.catalog.item(item_id)
        return item.display_name(self.state.language) if item else item_id

    def _at_phrase(self, when: datetime) -> str:
        """'at 10 am' today, 'on Sunday November 29 at 10 am' another day."""
        lang = self.state.language
        text = self._when_text(when)
        if when.date() == self.now.date():
            return {"en": "at ", "es": "a las ", "zh": ""}[lang] + text
        if when.date() == self.now.date() + timedelta(days=1):
            return text
        return {"en": "on ", "es": "el ", "zh": ""}[lang] + text

    def _when_text(self, when: datetime) -> str:
        lang = self.state.language
        clock = P.clock(when.hour, when.minute, lang)
        if when.date() == self.now.date():
            return clock
        return f"{self._day_words(when.date())} {'at ' if lang == 'en' else ''}{clock}"

    def _day_words(self, day: date) -> str:
        """'tomorrow', else 'Friday November 27' (a day after today)."""
        lang = self.state.language
        if day == self.now.date() + timedelta(days=1):
            return {"en": "tomorrow", "es": "mañana", "zh": "明天"}[lang]
        return P.spoken_date(day, lang)

    def _staff_name(self, staff_id: Any) -> str:
        if staff_id == "any":
            return {"en": "with anyone available", "es": "con quien esté disponible", "zh": "任何人"}[
                self.state.language
            ]
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
            spans = [
                f"{P.clock(a.hour, a.minute, lang)} {'to' if lang == 'en' else 'a' if lang == 'es' else '到'} "
                f"{P.clock(bb.hour, bb.minute, lang)}"
                for a, bb in ranges
            ]
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
        service_items = [i for i in (self.catalog.item(x) for x in self._service_ids()) if i is not None]
        if service_items and not spec.items:
            nights = st.slots.get("nights")
            qty = nights if spec.kind is TicketKind.RESERVATION and isinstance(nights, int) else 1
            lines = []
            for service_item in service_items:
                v = service_item.variation(service_item.default_variation)
                lines.append(
                    OrderLine(
                        catalog_id=service_item.id,
                        name=service_item.name,
                        quantity=qty,
                        variation_id=v.id if v else None,
                        variation_name=v.name if v else None,
                    )
                )
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
            if s.type in PERSON_SLOT_TYPES or s.id not in st.slots:
                continue
            value = st.slots[s.id]
            if isinstance(value, datetime):
                value = value.isoformat(timespec="minutes")
            elif s.type == "service" and service_items:
                value = ", ".join(i.name for i in service_items)
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


def _qualified(name: str, qualifier: str, lang: str) -> str:
    words = {
        "en": {
            "extra": "extra {}",
            "light": "light {}",
            "no": "no {}",
            "on_the_side": "{} on the side",
            "swap": "{} instead",
            "normal": "{}",
        },
        "es": {
            "extra": "extra de {}",
            "light": "poco {}",
            "no": "sin {}",
            "on_the_side": "{} aparte",
            "swap": "{} en su lugar",
            "normal": "con {}",
        },
        "zh": {
            "extra": "多加{}",
            "light": "少{}",
            "no": "不要{}",
            "on_the_side": "{}另放",
            "swap": "换成{}",
            "normal": "加{}",
        },
    }
    return words.get(lang, words["en"]).get(qualifier, "{}").format(name)
