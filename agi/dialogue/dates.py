"""Days out of caller words: 'today', 'tomorrow', 'friday', 'next monday',
'november 28', 'the 3rd', '明天', 'mañana'. No clock is read: today is passed in.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from agi.dialogue import lexicon
from agi.dialogue.numbers import words_to_number

WEEKDAYS = {
    "monday": 0, "mon": 0, "lunes": 0, "周一": 0, "星期一": 0, "礼拜一": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "martes": 1, "周二": 1, "星期二": 1, "礼拜二": 1,
    "wednesday": 2, "wed": 2, "miércoles": 2, "miercoles": 2, "周三": 2, "星期三": 2, "礼拜三": 2,
    "thursday": 3, "thu": 3, "thurs": 3, "jueves": 3, "周四": 3, "星期四": 3, "礼拜四": 3,
    "friday": 4, "fri": 4, "viernes": 4, "周五": 4, "星期五": 4, "礼拜五": 4,
    "saturday": 5, "sat": 5, "sábado": 5, "sabado": 5, "周六": 5, "星期六": 5, "礼拜六": 5,
    "sunday": 6, "sun": 6, "domingo": 6, "周日": 6, "星期日": 6, "星期天": 6, "礼拜天": 6, "周天": 6,
}
MONTHS = {
    "january": 1, "jan": 1, "enero": 1, "february": 2, "feb": 2, "febrero": 2, "march": 3, "mar": 3,
    "marzo": 3, "april": 4, "apr": 4, "abril": 4, "may": 5, "mayo": 5, "june": 6, "jun": 6, "junio": 6,
    "july": 7, "jul": 7, "julio": 7, "august": 8, "aug": 8, "agosto": 8, "september": 9, "sep": 9,
    "sept": 9, "septiembre": 9, "october": 10, "oct": 10, "octubre": 10, "november": 11, "nov": 11,
    "noviembre": 11, "december": 12, "dec": 12, "diciembre": 12,
}
_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th)?$")
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30, "thirtyfirst": 31,
    **{f"twenty{o}": 20 + n for o, n in (("first", 1), ("second", 2), ("third", 3), ("fourth", 4), ("fifth", 5),
                                           ("sixth", 6), ("seventh", 7), ("eighth", 8), ("ninth", 9))},
}


def parse_date(text: str, today: date) -> date | None:
    """'today', 'tomorrow', 'friday', 'next monday', 'november 28', 'the 3rd', 'Wednesday the
    sixteenth', 'the twenty-sixth', 'el veintitrés de diciembre', '十二月十八号', '明天', 'mañana'."""
    if any(w in text for w in ("day after tomorrow", "pasado mañana", "pasado manana", "后天")):
        return today + timedelta(days=2)
    text = ordinals_joined(text)
    words = text.split()
    said_today = (
        any(w in ("today", "tonight", "hoy") for w in words)
        or re.search(r"\b(?:this (?:morning|afternoon|evening)|esta (?:mañana|tarde|noche))\b", text)
        or "今天" in text
        or "今晚" in text
    )
    if any(w in ("tomorrow", "mañana", "manana") for w in words) or "明天" in text:
        # "mañana" alone is tomorrow; "de la mañana", "en la mañana", "por la mañana" are the morning;
        # "tonight and tomorrow night" starts today.
        mornings = len(re.findall(r"\b(?:la|las) (?:mañana|manana)\b", text))
        tomorrow = words.count("mañana") + words.count("manana") > mornings or "tomorrow" in words or "明天" in text
        if tomorrow and not said_today:
            return today + timedelta(days=1)
    if said_today:
        return today
    return _month_day(words, text, today) or _the_nth(text, today) or _weekday(words, text, today)


def _month_day(words: list[str], text: str, today: date) -> date | None:
    for i, w in enumerate(words):
        month = MONTHS.get(w)
        if month is None:
            continue
        # "the 5th of January, 4 nights": the day said before "of" is the month's, not the 4 after it;
        # "el veintitrés de diciembre": the number before "de" is the day
        before = words[i - 2] if i >= 2 and words[i - 1] in ("of", "de") else None
        after = [c for k, c in enumerate(words[i + 1 : i + 3]) if not _counts_something(words, i + 1 + k)]
        for cand in ([before] if before else []) + after + words[max(0, i - 2) : i]:
            day = day_number(cand, said_with_month=True)
            if day:
                return _next_date(today, month, day)
    if m := re.search(r"([\d一二三四五六七八九十]{1,3})月([\d一二三四五六七八九十]{1,3})[日号]", text):
        month, day = _zh_number(m.group(1)), _zh_number(m.group(2))
        if month and day:
            return _next_date(today, month, day)
    return None


def _the_nth(text: str, today: date) -> date | None:
    """'the 3rd', 'on the twenty-sixth', 'Wednesday the sixteenth': the next such day of a month."""
    for m in re.finditer(r"\bthe (\w+)\b", text):
        day = day_number(m.group(1))
        if day and (m.group(1) in _ORDINAL_WORDS or not m.group(1).isdigit()):
            candidate = _next_date(today.replace(day=1), today.month, day)
            if candidate and candidate < today:
                nm = today.month % 12 + 1
                candidate = _next_date(today, nm, day)
            return candidate
    return None


def _weekday(words: list[str], text: str, today: date) -> date | None:
    for name, wd in WEEKDAYS.items():
        found = name in text if lexicon.has_cjk(name) else name in words
        if found:
            delta = (wd - today.weekday()) % 7
            if delta == 0 or "next" in words or "próximo" in words or "proximo" in words or "下" + name[-1] in text:
                delta = delta or 7
            return today + timedelta(days=delta)
    return None


_TENS_ORDINAL = re.compile(r"\b(twenty|thirty)[ -](first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b")


def ordinals_joined(text: str) -> str:
    """'twenty sixth' and 'twenty-sixth' as one word, 'twentysixth', that `_day_number` reads."""
    return _TENS_ORDINAL.sub(lambda m: m.group(1) + m.group(2), text)


def _zh_number(text: str) -> int | None:
    return int(text) if text.isdigit() else words_to_number(text)


def _counts_something(words: list[str], k: int) -> bool:
    """'4' in 'January 4 nights' counts the nights; it is no day of the month."""
    return k + 1 < len(words) and words[k + 1] in ("nights", "night", "people", "guests", "days", "weeks", "noches")


def day_number(token: str, said_with_month: bool = False) -> int | None:
    """The day of the month a word says: '3rd', 'fifth', 'twentysixth'; next to a month
    name also a number ('23', 'veintitrés')."""
    if token in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[token]
    m = _ORDINAL.match(token)
    if m and 1 <= int(m.group(1)) <= 31:
        return int(m.group(1))
    if said_with_month and not token.isdigit():
        n = words_to_number(token)
        return n if n is not None and 1 <= n <= 31 and token not in ("a", "an", "un", "una") else None
    return None


def _next_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            return None
        if d >= today:
            return d
    return None


_MONTHS_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORDINALS_RE = "|".join(_ORDINAL_WORDS)
_MONTH_DAY = re.compile(
    rf"\b(?:{_MONTHS_RE})\s+(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORDINALS_RE})\b"
    rf"|\b(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINALS_RE})(?:\s+of)?\s+(?:{_MONTHS_RE})\b"
    r"|\b(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\b"
    r"|\b(?:the\s+)?(?:twenty|thirty)[ -](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b"
    rf"|\b(?:\d{{1,2}}|[a-záéíóú]+) de (?:{_MONTHS_RE})\b"
    r"|[\d一二三四五六七八九十]{1,3}月[\d一二三四五六七八九十]{1,3}[日号]"
)


def find_day_number(text: str) -> list[tuple[int, int]]:
    """Where a day of the month is said ("november 28", "the 3rd", "24th of december",
    "12月24日"): those numbers are days, not quantities."""
    return [(m.start(), m.end()) for m in _MONTH_DAY.finditer(text)]
