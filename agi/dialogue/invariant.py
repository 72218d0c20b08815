"""The check every ticket passes before it is committed: it is what the caller said.

A wrong ticket in the POS is worse than none: the kitchen makes it, the salon
books it, nobody re-reads it. So before a commit the engine checks, from the
caller's own words (as heard) and the read-back they said yes to:

- the ticket is the read-back: same lines, values and total;
- every quantity, count of a unit and clock hour is a number the caller said
  (a pack converted from pieces, "a dozen light bulbs" as 3 four-packs, counts);
- the name is words the caller said; the phone number is the caller ID or
  one the caller said; the address is one the caller said; a day other than
  today was said as a day.

A violation is a bug in the engine: the call goes to a person, never to the POS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from agi.catalog import Catalog
from agi.dialogue import lexicon
from agi.dialogue.address import parse_address
from agi.dialogue.counts import Unit, count_of
from agi.dialogue.dates import parse_date
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import parse_quantity, words_to_number
from agi.dialogue.slots import parse_phone
from agi.dialogue.spans import SpanKind, find_spans, masked
from agi.dialogue.times import TimeOfDay, find_time
from agi.tickets import Ticket

# Slots checked against the numbers the caller said.
_COUNTED_SLOT_TYPES = ("number",)


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.why}"


@dataclass(frozen=True, slots=True)
class Said:
    """What the caller said over the call, as heard, and what came with the call."""

    utterances: tuple[str, ...]
    caller_id: str | None
    today: date

    def numbers(self) -> set[int]:
        """Every number said, whatever it counted."""
        return self._numbers(values_too=True)

    def quantities(self) -> set[int]:
        """The numbers said that were not a time, an address, a phone number, a day or a
        count of people or nights: "change the pickup time to seven" says no 7 of anything."""
        return self._numbers(values_too=False)

    def _numbers(self, values_too: bool) -> set[int]:
        found: set[int] = {1}
        for text in self.utterances:
            norm = lexicon.normalise(text)
            if not values_too:
                norm = masked(norm, [s for s in find_spans(norm) if s.kind is not SpanKind.UNIT_COUNT])
            tokens = tokenize(norm)
            for i in range(len(tokens)):
                q = parse_quantity(tokens, i)
                if q is not None:
                    found.add(q[0])
                n = words_to_number(tokens[i])
                if n is not None:
                    found.add(n)
            found.update(int(d) for d in re.findall(r"\d+", norm) if len(d) <= 6)
            for unit in Unit:
                n = count_of(unit, norm)
                if n is not None:
                    found.add(n)
            # "both", "a couple", and "too large pepperoni pizzas" (two, as a recogniser may write
            # it before what is ordered: the order parser reads it so too)
            if re.search(r"\b(?:both|couple|pair|ambos|ambas|两)\b|\b(?:too|into)\s+\w", norm):
                found.add(2)
        return found


def check_commit(
    ticket: Ticket, read_back: dict[str, Any] | None, said: Said, catalog: Catalog, slot_types: dict[str, str]
) -> list[Violation]:
    """Everything on `ticket` that the caller did not say or did not hear read back."""
    problems: list[Violation] = []
    public = ticket.to_public()
    if read_back is None:
        problems.append(Violation("ticket", "", "committed without a read-back"))
    elif read_back != public:
        problems.append(Violation("ticket", _first_difference(read_back, public), "differs from the read-back"))
    numbers, quantities = said.numbers(), said.quantities()
    for line in ticket.items:
        item = catalog.item(line.catalog_id)
        pack = getattr(item, "pack_size", None) if item is not None else None
        if line.quantity not in quantities and not (pack and line.quantity * pack in quantities):
            problems.append(Violation(f"items.{line.catalog_id}.quantity", str(line.quantity), "not a number said"))
    for slot_id, kind in slot_types.items():
        value = ticket.slots.get(slot_id)
        if kind in _COUNTED_SLOT_TYPES and isinstance(value, int) and value not in numbers:
            problems.append(Violation(f"slots.{slot_id}", str(value), "not a number said"))
    problems += _check_time(ticket, said, numbers)
    problems += _check_customer(ticket, said)
    problems += _check_address(ticket, said)
    return problems


def _check_time(ticket: Ticket, said: Said, numbers: set[int]) -> list[Violation]:
    out: list[Violation] = []
    for field, raw in _times_on(ticket):
        when = _parse_when(raw, said.today)
        if when is None:
            continue
        if when.date() != said.today and not any(parse_date(lexicon.normalise(u), said.today) for u in said.utterances):
            out.append(Violation(field, raw, "a day no day was said for"))
        if not _clock_said(when, said, numbers):
            out.append(Violation(field, raw, "a time no time was said for"))
    return out


def _times_on(ticket: Ticket) -> Iterable[tuple[str, str]]:
    if ticket.fulfillment is not None and ticket.fulfillment.time:
        yield "fulfillment.time", ticket.fulfillment.time
    for key, value in ticket.slots.items():
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d.*", value):
            yield f"slots.{key}", value


def _parse_when(raw: str, today: date) -> datetime | None:
    try:
        if re.fullmatch(r"\d\d:\d\d", raw):
            return datetime.combine(today, datetime.strptime(raw, "%H:%M").time())
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _clock_said(when: datetime, said: Said, numbers: set[int]) -> bool:
    """The hour is one the caller said (as a clock time, a bare hour or a number), or they
    gave a time from now ("in 20 minutes"), noon or a day's part the bot turned into one."""
    hour12 = when.hour % 12 or 12
    for text in said.utterances:
        found = find_time(lexicon.normalise(text))
        if found is None:
            continue
        value = found.value
        if not isinstance(value, TimeOfDay):
            return True  # a time from now: its clock is now's
        if value.hour % 12 == when.hour % 12 or value.hour == when.hour:
            return True
    return hour12 in numbers or when.hour in numbers


def _check_customer(ticket: Ticket, said: Said) -> list[Violation]:
    out: list[Violation] = []
    name = ticket.customer.name
    if name and not _words_said(name, said.utterances):
        out.append(Violation("customer.name", name, "not words the caller said"))
    phone = ticket.customer.phone
    if phone and not _phone_said(phone, said):
        out.append(Violation("customer.phone", phone, "neither the caller ID nor a number said"))
    return out


def _words_said(value: str, utterances: Iterable[str]) -> bool:
    heard = " ".join(lexicon.fold(lexicon.normalise(u)) for u in utterances)
    wanted = lexicon.fold(lexicon.normalise(value))
    if lexicon.has_cjk(wanted):
        return wanted.replace(" ", "") in heard.replace(" ", "")
    words = set(re.findall(r"[\w']+", heard))
    return all(w in words for w in re.findall(r"[\w']+", wanted))


def _phone_said(phone: str, said: Said) -> bool:
    last = re.sub(r"\D", "", phone)[-10:]
    if said.caller_id and re.sub(r"\D", "", said.caller_id)[-10:] == last:
        return True
    for text in said.utterances:
        digits = parse_phone(lexicon.normalise(text))
        if digits and re.sub(r"\D", "", digits)[-10:] == last:
            return True
    return False


def _check_address(ticket: Ticket, said: Said) -> list[Violation]:
    address = ticket.fulfillment.address if ticket.fulfillment is not None else None
    values = [address] + [v for k, v in ticket.slots.items() if k == "address"]
    out = []
    for value in (v for v in values if isinstance(v, str) and v):
        heard = {parse_address(lexicon.normalise(u), True) for u in said.utterances}
        if value not in heard:
            out.append(Violation("address", value, "not an address the caller said"))
    return out


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return path or "ticket"
