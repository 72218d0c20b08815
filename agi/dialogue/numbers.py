"""Spoken quantities in English, Spanish and Chinese.

`words_to_number` reads one number said in words or digits ("twenty five",
"veintidós", "十二", "两"); `parse_quantity` reads the quantity that opens an
order phrase in a token list ("a couple of", "half a dozen", "dos", "三个")
and says how many tokens it used, so the parser can move past it.
"""

from __future__ import annotations

import unicodedata

EN_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_ES_UNITS = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiuno": 21, "veintiun": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24,
    "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}
_ES_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
            "noventa": 90}
_HUNDREDS = {"hundred": 100, "cien": 100, "ciento": 100}

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
# Measure words that follow a number in Chinese ("三个", "两杯", "一份").
ZH_CLASSIFIERS = frozenset("个份杯瓶张碗块只盒罐串根片盘打位")

# Words that mean one when they open an order phrase.
_ONE = {"a", "an", "one", "un", "una", "uno", "single"}
# "two orders of", "a couple of": filler that may sit between a number and its item.
_DOZEN = {"dozen", "docena"}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def _zh_to_number(text: str) -> int | None:
    """'十二' -> 12, '二十五' -> 25, '两' -> 2, '一百' -> 100; None if not all number characters."""
    if not text or any(c not in _ZH_DIGITS and c not in _ZH_UNITS for c in text):
        return None
    total = 0
    current = 0
    for c in text:
        if c in _ZH_DIGITS:
            current = _ZH_DIGITS[c]
        else:
            unit = _ZH_UNITS[c]
            total += (current or 1) * unit
            current = 0
    return total + current


def words_to_number(text: str) -> int | None:
    """One number said in words or digits (en/es/zh); None when it is not a number.

    >>> words_to_number("twenty five"), words_to_number("dos"), words_to_number("十二")
    (25, 2, 12)
    """
    raw = text.strip()
    if not raw:
        return None
    if raw.isdigit():
        return int(raw)
    zh = _zh_to_number(raw)
    if zh is not None:
        return zh
    words = _fold(raw).replace("-", " ").split()
    if words and words[0] in ("a", "an") and len(words) > 1:
        words = words[1:]  # "a hundred"
    if words == ["dozen"] or words == ["docena"]:
        return 12
    total = 0
    current = 0
    seen = False
    for w in words:
        if w in ("and", "y"):
            continue
        if w in EN_UNITS:
            current += EN_UNITS[w]
        elif w in _ES_UNITS:
            current += _ES_UNITS[w]
        elif w in EN_TENS:
            current += EN_TENS[w]
        elif w in _ES_TENS:
            current += _ES_TENS[w]
        elif w in _HUNDREDS:
            current = (current or 1) * 100
        elif w.isdigit():
            current += int(w)
        else:
            return None
        seen = True
    return total + current if seen else None


def _single(token: str) -> int | None:
    """A number said in one token ('two', '2', 'dos', '十二', 'a'); 'oh' and 'zero' are no quantity."""
    if token in ("oh", "zero", "cero", "o"):
        return None
    if token.isdigit():
        return int(token)
    if token in _ONE:
        return 1
    folded = _fold(token)
    for table in (EN_UNITS, EN_TENS, _ES_UNITS, _ES_TENS):
        if folded in table:
            return table[folded]
    return _zh_to_number(token)


def parse_quantity(tokens: list[str], i: int) -> tuple[int, int] | None:
    """The quantity that starts at tokens[i] as (value, tokens used), or None.

    Understands digits, number words ("twenty two"), articles ("a", "an",
    "una"), "a couple (of)", "a pair of", "(half) a dozen", "two dozen",
    "just one", Spanish "un par de", "media docena", and Chinese numbers
    with or without a measure word ("两个", "三", "十二份"), one token per
    Chinese character.
    """
    n = len(tokens)
    if i >= n:
        return None
    t = [_fold(x) for x in tokens[i : i + 5]]

    def at(k: int) -> str:
        return t[k] if k < len(t) else ""

    # Chinese: a run of number characters, then an optional measure word; 打 is a dozen ("一打", "半打").
    if tokens[i] == "半" and i + 1 < n and tokens[i + 1] == "打":
        return 6, 2
    if tokens[i] in _ZH_DIGITS or tokens[i] in _ZH_UNITS:
        j = i
        while j < n and (tokens[j] in _ZH_DIGITS or tokens[j] in _ZH_UNITS):
            j += 1
        value = _zh_to_number("".join(tokens[i:j]))
        if value is None:
            return None
        if j < n and tokens[j] in ZH_CLASSIFIERS:
            value *= 12 if tokens[j] == "打" else 1
            j += 1
        return value, j - i

    if at(0) in ("just", "only", "solo", "nomas") and at(1) in ("one", "a", "an", "un", "una", "uno", "1"):
        return 1, 2
    # "half a dozen", "half dozen", "media docena"
    if at(0) in ("half", "media") and at(1) in _DOZEN:
        return 6, 2
    if at(0) == "half" and at(1) in ("a", "an") and at(2) in _DOZEN:
        return 6, 3
    # "a couple of", "couple", "a pair of", "un par de"
    if at(0) in ("a", "an") and at(1) in ("couple", "pair"):
        return 2, 3 if at(2) == "of" else 2
    if at(0) in ("couple", "pair"):
        return 2, 2 if at(1) == "of" else 1
    if at(0) in ("un",) and at(1) == "par":
        return 2, 3 if at(2) == "de" else 2
    # "a dozen", "dozen", "una docena", "two dozen"
    if at(0) in ("a", "an", "una", "one") and at(1) in _DOZEN:
        return 12, 2 + (at(2) in ("of", "de"))
    if at(0) in _DOZEN:
        return 12, 1 + (at(1) in ("of", "de"))

    first = _single(tokens[i]) if not t[0].isdigit() else int(t[0])
    if not first:
        return None
    used = 1
    value = first
    # Compound English/Spanish numbers: "twenty two", "treinta y dos", "one hundred".
    if t[0] in EN_TENS and at(1) in EN_UNITS and 0 < EN_UNITS[at(1)] < 10:
        value, used = first + EN_UNITS[at(1)], 2
    elif t[0] in _ES_TENS and at(1) == "y" and at(2) in _ES_UNITS and 0 < _ES_UNITS[at(2)] < 10:
        value, used = first + _ES_UNITS[at(2)], 3
    elif at(1) in ("hundred", "cien", "cientos") and first < 10:
        value, used = first * 100, 2
    if at(used) in ("thousand", "mil"):
        value, used = value * 1000, used + 1
    if at(used) in _DOZEN and t[0] not in ("a", "an"):
        value *= 12
        used += 1 + (at(used + 1) in ("of", "de"))
    return value, used
