"""Slot values out of caller words: phone numbers and counts.

Each extractor takes normalised text (lexicon.normalise) and returns a value
or None. Names are in `names`, times in `times`, days in `dates`, addresses in `address`.
"""

from __future__ import annotations

import re

from agi.dialogue.numbers import words_to_number

_PHONE_DIGITS = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def parse_phone(text: str) -> str | None:
    """A phone number said as digits ('555 123 4567') or words ('five five five...')."""
    if m := _PHONE_DIGITS.search(text):
        digits = re.sub(r"[^\d+]", "", m.group(0))
        if len(digits.lstrip("+")) >= 7:
            return digits
    spoken = []
    for token in text.replace("-", " ").split():
        if token in ("oh", "o", "zero", "cero", "零"):
            spoken.append("0")
        elif token in ("double",):
            spoken.append("*2")
        else:
            n = words_to_number(token) if not token.isdigit() else int(token)
            if n is not None and 0 <= n <= 9 and not token.isdigit():
                spoken.append(str(n))
            elif token.isdigit():
                spoken.append(token)
    out = ""
    for s in spoken:
        if s == "*2":
            continue
        out += s
    if len(out) >= 7:
        return out
    return None


def parse_count(text: str) -> int | None:
    """The first number in the text: '4 people', 'party of six', '三位'."""
    for token in re.findall(r"\d+|[\w']+", text):
        n = int(token) if token.isdigit() else words_to_number(token)
        if n is not None and n > 0:
            return n
    if m := re.search(r"([一二两三四五六七八九十]+)\s*[位个人晚]", text):
        return words_to_number(m.group(1))
    return None
