"""Which words of a turn are already taken by a value that is not an order line.

A number counts something only by the words around it: "at seven" and
"change the pickup time to seven" are times, "25 Valencia Street" a house
number, "94110" a ZIP, "555 123 4567" a phone number, "for 4 people" and
"3 nights" counts of their own unit, "December 24th" a day. The order parser
and the quantity of an edit read the turn with these words blanked out, so
none of them becomes an item's quantity or an order line; the slot extractors
still read the whole turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable

from agi.dialogue.address import find_address
from agi.dialogue.counts import count_spans
from agi.dialogue.dates import find_day_number
from agi.dialogue.times import find_time


class SpanKind(str, Enum):
    TIME = "time"
    ADDRESS = "address"
    ZIP = "zip"
    PHONE = "phone"
    UNIT_COUNT = "unit_count"
    DAY = "day"
    NAME = "name"  # "soy Ana", "my name is Maria": the caller's words, not the order's


@dataclass(frozen=True, slots=True)
class Span:
    kind: SpanKind
    start: int
    end: int


_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{5,}\d(?![\w.])")
_ZIP = re.compile(r"\b\d{5}(?:-\d{4})?\b")
def find_spans(norm: str, is_menu_word: Callable[[str], bool] | None = None) -> list[Span]:
    """The spans of `norm` (normalised text) that hold a time, address, ZIP, phone
    number, count of a unit or a day of the month; they may overlap."""
    spans: list[Span] = []
    found = find_time(norm)
    if found is not None:
        spans.append(Span(SpanKind.TIME, found.start, found.end))
    address = find_address(norm, is_menu_word)
    if address is not None:
        spans.append(Span(SpanKind.ADDRESS, address.start, address.end))
    spans += [Span(SpanKind.PHONE, m.start(), m.end()) for m in _PHONE.finditer(norm) if _digits(m.group(0)) >= 7]
    spans += [Span(SpanKind.ZIP, m.start(), m.end()) for m in _ZIP.finditer(norm)]
    spans += [Span(SpanKind.UNIT_COUNT, start, end) for start, end in count_spans(norm)]
    spans += [Span(SpanKind.DAY, start, end) for start, end in find_day_number(norm)]
    return spans


def masked(norm: str, spans: list[Span]) -> str:
    """`norm` with the spans' words blanked out (the words around them stay where they were)."""
    chars = list(norm)
    for span in spans:
        for i in range(span.start, span.end):
            chars[i] = " "
    return re.sub(r"\s+", " ", "".join(chars)).strip()


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
