"""Counts of a unit out of caller words: nights of a stay, people in a party.

People say these the way they live them, not as a number before a noun:
"for a week", "a couple of nights", "two weeks", "five of us", "there's four
of us", "me and my wife", "just me", "2 adults and 2 kids", "somos dos", "住三
晚", "五个人". Each reader returns the count or None; `count_spans` says where
such counts were said, so those numbers are never read as quantities.
"""

from __future__ import annotations

import re
from enum import Enum

from agi.dialogue.dates import day_number, ordinals_joined
from agi.dialogue.numbers import words_to_number


class Unit(str, Enum):
    NIGHTS = "nights"
    PEOPLE = "people"


# The slot ids whose values are counts of a unit ("guests": 3, "nights": 2).
UNIT_OF_SLOT = {
    "nights": Unit.NIGHTS,
    "guests": Unit.PEOPLE,
    "party_size": Unit.PEOPLE,
    "people": Unit.PEOPLE,
    "adults": Unit.PEOPLE,
}

_NUM = r"(\d{1,3}|(?:twenty|thirty|forty|fifty)[ -](?:one|two|three|four|five|six|seven|eight|nine)|[a-záéíóúñ]+)"
_ZH_NUM = r"([一二两三四五六七八九十\d]+)"
# Counts a recogniser writes as the word they sound like, right before a unit:
# "for guests" is 4 guests, "make it for nights" 4 nights.
_SOUNDS_LIKE_COUNT = {"for": 4, "fore": 4, "to": 2, "too": 2, "won": 1, "ate": 8}

_NIGHTS = re.compile(rf"\b{_NUM}\s+(?:more\s+)?(?:nights?|ninth|noches?)\b|{_ZH_NUM}\s*(?:个)?(?:晚上|晚|夜)")
_WEEKS = re.compile(rf"\b(?:a|one|{_NUM})\s+(?:weeks?|semanas?)\b|\bfor the week\b|([一两二三\d]+)\s*(?:周|个星期|个礼拜)")
_NIGHTS_IDIOMS = {
    r"\ba couple (?:of )?nights\b": 2,
    r"\bcouple nights\b": 2,
    r"\b(?:just |only )?(?:the |a )?one night\b|\bjust (?:the )?(?:a )?night\b|\bovernight\b|\bun[a]? noche\b": 1,
    r"\bthe weekend\b|\bun fin de semana\b": 2,
    r"一晚|住一晚": 1,
}

_PEOPLE_WORDS = r"(?:people|persons?|guests?|guess|adults?|kids|children|childs|personas|huéspedes|huespedes|adultos|niños|ninos)"
_PEOPLE = re.compile(
    rf"\b{_NUM}\s+{_PEOPLE_WORDS}\b|{_ZH_NUM}\s*(?:位|个人|个大人|个孩子|口人|人)|一家{_ZH_NUM}口"
)
_OF_US = re.compile(rf"\b(?:there(?:'s| is| are| will be| 'll be)\s+|we(?:'re| are)\s+|it's\s+)?{_NUM}\s+of\s+us\b"
                    rf"|\bsomos\s+{_NUM}\b|\bparty of\s+{_NUM}\b|\btable for\s+{_NUM}\b")
_PEOPLE_IDIOMS = {
    r"\b(?:just|only) (?:me|myself|one person)\b|\bit's just me\b|\bsolo yo\b|就我一个|只有我": 1,
    r"\bme and my (?:wife|husband|partner|girlfriend|boyfriend|friend|son|daughter|mom|dad|mother|father|kid|boy|girl)\b"
    r"|\bmy (?:wife|husband|partner|girlfriend|boyfriend|friend|son|daughter|mom|dad|mother|father) and (?:i|me)\b"
    r"|\bthe two of us\b|\bjust us two\b|\bmi esposa y yo\b|\bmi esposo y yo\b|我和我(?:太太|先生|老婆|老公)": 2,
    rf"\bme and my {_NUM}\s+(?:kids|children|boys|girls|sons|daughters|friends)\b": -1,
}


def count_of(unit: Unit, norm: str) -> int | None:
    """The count of `unit` said in normalised text, or None."""
    return _nights(norm) if unit is Unit.NIGHTS else _people(norm)


def _value(word: str | None) -> int | None:
    if not word:
        return None
    word = word.strip()
    if word in _SOUNDS_LIKE_COUNT:
        return _SOUNDS_LIKE_COUNT[word]
    if word in ("a", "an", "one"):
        return 1
    if word in ("couple", "pair"):
        return 2
    return int(word) if word.isdigit() else words_to_number(word)


_RANGE = re.compile(
    r"\b(?:from|del|de)\s+(?:the\s+|el\s+)?(\w+)\s+(?:to|until|till|through|thru|al|hasta el)\s+(?:the\s+|el\s+)?(\w+)\b"
    r"|([\d一二三四五六七八九十]{1,3})[号日]?(?:到|至)([\d一二三四五六七八九十]{1,3})[号日]"
)
_TONIGHT_AND_TOMORROW = re.compile(r"\btonight and tomorrow(?: night)?\b|\besta noche y mañana\b|今晚和明晚")


def _nights(norm: str) -> int | None:
    """Nights of a stay: 'for 3 nights', 'a week', 'from the 14th to the 17th' (3),
    'tonight and tomorrow night' (2)."""
    if _TONIGHT_AND_TOMORROW.search(norm):
        return 2
    if m := _RANGE.search(ordinals_joined(norm)):
        first, last = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        a, b = day_number(first, True) or _value(first), day_number(last, True) or _value(last)
        if a and b and 0 < b - a <= 31:
            return b - a
    for pattern, n in _NIGHTS_IDIOMS.items():
        if re.search(pattern, norm):
            return n
    if m := _WEEKS.search(norm):
        weeks = _value(next((g for g in m.groups() if g), "one")) or 1
        return weeks * 7
    for m in _NIGHTS.finditer(norm):
        n = _value(m.group(1) or m.group(2))
        if n is not None:
            return n
    return None


def _people(norm: str) -> int | None:
    for pattern, n in _PEOPLE_IDIOMS.items():
        if m := re.search(pattern, norm):
            if n < 0:  # "me and my two kids": me, and as many as said
                return 1 + (_value(m.group(1)) or 0)
            extra = _people_listed(norm)  # "me and my wife and our two kids"
            return n + extra if extra else n
    if m := _OF_US.search(norm):
        n = _value(next((g for g in m.groups() if g), None))
        if n is not None:
            return n
    said = [(_value(next((g for g in m.groups() if g), None)), m.group(0)) for m in _PEOPLE.finditer(norm)]
    said = [(n, text) for n, text in said if n is not None]
    if not said:
        return None
    kinds = {_kind(text) for _, text in said}
    # "2 adults and 2 kids" is four people; "4 people, I mean 3 people" is the last said
    if len(said) > 1 and len(kinds) == len(said):
        return sum(n for n, _ in said if n is not None)
    return said[-1][0] if len(said) > 1 else said[0][0]


def _people_listed(norm: str) -> int:
    m = re.search(rf"\b(?:and|y)\s+(?:our|my|mis|nuestros)?\s*{_NUM}\s+(?:kids|children|niños|ninos)\b", norm)
    return (_value(m.group(1)) or 0) if m else 0


def _kind(text: str) -> str:
    return "young" if re.search(r"kids|children|childs|niños|ninos|孩子", text) else "adult"


def count_spans(norm: str) -> list[tuple[int, int]]:
    """Where counts of nights or people were said: those numbers count their unit."""
    spans = []
    for pattern in (_NIGHTS, _WEEKS, _PEOPLE, _OF_US, *map(re.compile, (*_NIGHTS_IDIOMS, *_PEOPLE_IDIOMS))):
        for m in pattern.finditer(norm):
            word = next((g for g in m.groups() if g), None) if m.groups() else None
            if word is None or _value(word) is not None:
                spans.append((m.start(), m.end()))
    return spans
