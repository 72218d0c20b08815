"""Street addresses out of caller words, and whether one is inside the area served.

An address is found anywhere in a turn ("25 Valencia Street apartment 2,
94110"), with its unit, place and ZIP, so it is never read as 25 of an item
and the place or ZIP is not cut off. `outside_area` compares what was said
with the Playbook's `delivery_area`: a ZIP decides when one is said, else a
place name; an address with neither cannot be checked and is taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from agi.dialogue import lexicon
from agi.dialogue.numbers import EN_TENS, EN_UNITS, words_to_number

# Not "way", "square" or "row": "2 large pizzas either way" and "2 large square pizzas" are orders.
_STREET_TYPES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|terrace|parkway|pkwy|"
    "circle|cir|highway|hwy|alley"
)
# A word of a street's name: not a bare number nor a word that joins a sentence ("2 pizzas to 12 Oak Street").
_NAME_WORD = (
    r"(?!(?:to|for|and|at|a|an|the|on|in|of|with|by|please|deliver|delivered|delivery|send|bring)\b)"
    r"(?!\d+\b)[a-z0-9áéíóúñ'-]+"
)
_NUMBER_WORD = "|".join([*EN_UNITS, *EN_TENS, "hundred", "thousand"])
# A house number in digits, or said in words ("twenty one fifty West Foster Avenue").
_HOUSE = rf"\d{{1,6}}[a-z]?|(?:(?:{_NUMBER_WORD})[\s-]+){{0,5}}(?:{_NUMBER_WORD})"
_STREET = re.compile(rf"\b({_HOUSE})\s+((?:{_NAME_WORD}\s+){{0,3}}?{_NAME_WORD}\s+(?:{_STREET_TYPES}))\b")
_CALLE = re.compile(
    r"\b(calle|avenida|av|avda|paseo|camino|carrera)\s+((?:[a-záéíóúñ'-]+\s+){0,3}?[a-záéíóúñ'-]+)\s+"
    r"(?:número\s+|numero\s+|no\s+|#\s*)?(\d{1,6})\b"
)
_UNIT = re.compile(
    r"\s+(?:apartment|apt|unit|suite|ste|number|no|floor|fl|room|rm|apartamento|departamento|depto|piso|interior|"
    r"int|oficina|#)\s*#?\s*[a-z0-9-]{1,6}\b|\s+#[a-z0-9-]{1,6}\b"
)
_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
# Words that end an address said mid-sentence ("... Street for delivery please").
_NOT_PLACE = {
    "for", "please", "and", "at", "by", "to", "pickup", "pick", "delivery", "deliver", "thanks", "thank", "the",
    "that", "that's", "thats", "it", "it's", "its", "is", "i", "i'm", "my", "name", "phone", "number", "tomorrow",
    "today", "tonight", "around", "about", "asap", "now", "yes", "no", "okay", "ok", "so", "um", "uh", "with", "a",
    "an", "on", "near", "then", "be", "will", "would", "can", "could", "we", "you", "me", "our", "your", "just",
    "oh", "also", "but", "or", "y", "para", "por", "favor", "gracias", "mi", "nombre", "es", "las", "los", "en",
    "de", "del", "cerca", "this", "next", "morning", "afternoon", "evening", "between", "sometime", "anytime",
    "if", "when", "ring", "buzz", "call", "door", "side", "back", "front", "entrance", "gate", "code",
}


@dataclass(frozen=True, slots=True)
class Address:
    text: str  # as it goes on the ticket: "25 Valencia Street Apartment 2 94110"
    zip: str | None
    place: str | None  # folded, as said: "naperville", "noe valley"
    start: int
    end: int


def find_address(text: str, is_menu_word: Callable[[str], bool] | None = None) -> Address | None:
    """A street address said anywhere in normalised `text`, with its unit, place and ZIP.
    A "street name" made only of menu words is an order ("2 large pepperoni ct ..."), not an address."""
    for m in _STREET.finditer(text):
        name = m.group(2).split()[:-1]
        small = len(m.group(1)) <= 2 or not m.group(1)[:1].isdigit()
        if is_menu_word is not None and small and name and all(is_menu_word(w) for w in name):
            continue
        return _with_tail(text, m.start(), m.end())
    m2 = _CALLE.search(text)
    return _with_tail(text, m2.start(), m2.end()) if m2 is not None else None


def _with_tail(text: str, start: int, end: int) -> Address:
    """The unit, place and ZIP said after the street ("apartment 2, Chicago 60625")."""
    for _ in range(2):
        unit = _UNIT.match(text, end)
        if unit is None:
            break
        end = unit.end()
    place_words: list[str] = []
    zip_code: str | None = None
    pos = end
    for word_match in re.finditer(r"\S+", text[end:]):
        word = word_match.group(0)
        if _ZIP.match(word):
            zip_code = word[:5]
            pos = end + word_match.end()
            break
        if word in ("in", "en") and not place_words:
            continue
        if word in _NOT_PLACE or word.isdigit() or words_to_number(word) is not None or len(place_words) >= 3:
            break
        if not re.fullmatch(r"[a-záéíóúñ'-]+", word):
            break
        place_words.append(word)
        pos = end + word_match.end()
    said = " ".join([text[start:end], *place_words, *([zip_code] if zip_code else [])])
    house = said.split()[0]
    if not house[:1].isdigit():
        words = re.match(rf"(?:(?:{_NUMBER_WORD})[\s-]+)*(?:{_NUMBER_WORD})\b", said)
        if words is not None:
            said = spoken_house_number(words.group(0)) + said[words.end():]
    if place_words and place_words[-1] in _STATES:
        place_words_no_state = place_words[:-1]
    else:
        place_words_no_state = place_words
    place = lexicon.fold(" ".join(place_words_no_state)) or None
    return Address(_title(said), zip_code, place, start, pos)


def spoken_house_number(said: str) -> str:
    """A house number said in words, as written: 'twenty one fifty' 2150, 'forty eight
    twenty one' 4821, 'one oh one' 101, 'sixty one hundred' 6100, 'twelve' 12."""
    words = said.replace("-", " ").split()
    if "thousand" in words or ("hundred" in words and words[-1] != "hundred"):
        return str(_words_value(words))  # "one hundred twenty", "six thousand one hundred"
    total: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in EN_TENS:
            value = EN_TENS[w]
            if i + 1 < len(words) and words[i + 1] in EN_UNITS and 0 < EN_UNITS[words[i + 1]] < 10:
                value += EN_UNITS[words[i + 1]]
                i += 1
            total.append(str(value))
        elif w == "oh" and i + 1 < len(words) and words[i + 1] in EN_UNITS:
            total.append("0" + str(EN_UNITS[words[i + 1]]))
            i += 1
        elif w in EN_UNITS:
            total.append(str(EN_UNITS[w]))
        elif w == "hundred":
            total.append("00")  # "sixty one hundred": 61 hundreds
        i += 1
    return "".join(total)


def _words_value(words: list[str]) -> int:
    total, current = 0, 0
    for w in words:
        if w in EN_UNITS:
            current += EN_UNITS[w]
        elif w in EN_TENS:
            current += EN_TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "thousand":
            total += (current or 1) * 1000
            current = 0
    return total + current


def parse_address(text: str, asked: bool) -> str | None:
    """A street address said anywhere; any answer when we just asked for one."""
    found = find_address(text)
    if found is not None:
        return found.text
    if asked:
        cleaned = re.sub(r"^(?:it's|it is|to|at|deliver to|the address is|address is|my address is|es|en)\s+", "", text)
        if len(cleaned) >= 6 and any(ch.isdigit() for ch in cleaned):
            return _title(cleaned)
        if len(cleaned) >= 4 and lexicon.has_cjk(cleaned):
            return cleaned
    return None


def outside_area(text: str, area: list[str]) -> str | None:
    """The ZIP or place of the address in `text` that the area does not cover
    (as said, for the bot to name), or None when it is inside or cannot be told."""
    if not area:
        return None
    found = find_address(text)
    if found is None:
        return None
    zips = {a for a in area if a.strip().isdigit()}
    places = [lexicon.fold(a.lower()) for a in area if not a.strip().isdigit()]
    if found.zip is not None and zips:
        return None if found.zip in zips else found.zip
    if found.place is not None and places:
        padded = f" {found.place} "
        if any(f" {p} " in padded or found.place in p.split() for p in places):
            return None
        return found.place.title()
    return None


def _title(s: str) -> str:
    words = s.split()
    return " ".join(_titled(w, i, words) for i, w in enumerate(words))


def _titled(word: str, i: int, words: list[str]) -> str:
    """A word of an address as written: 'Valencia', '23rd', unit '5C' and '#3B', state 'IL'."""
    if word[:1].isdigit() or word.startswith("#"):
        return word if _ORDINAL_NUMBER.match(word) else word.upper()
    is_state = word in _STATES and (i == len(words) - 1 or (i + 1 < len(words) and _ZIP.match(words[i + 1])))
    return word.upper() if is_state else word.capitalize()


_ORDINAL_NUMBER = re.compile(r"^\d+(?:st|nd|rd|th)$")


_STATES = {
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky", "la", "me",
    "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa",
    "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "dc",
}
