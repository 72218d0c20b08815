"""Slot values out of caller words: times, dates, names, phone numbers, addresses.

Each extractor takes normalised text (lexicon.normalise) and returns a value
or None; none of them reads a clock: "now" is passed in, in the business's
time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    "thirtieth": 30,
}


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A clock time as said: `ampm` is None when the caller did not say."""

    hour: int
    minute: int
    ampm: str | None = None


@dataclass(frozen=True, slots=True)
class RelativeTime:
    minutes: int


def _num(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return words_to_number(token)


_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*(a\.?m\.?|p\.?m\.?)?")
_HOUR_AMPM = re.compile(r"\b(\d{1,2})\s*(a\.?m\.?|p\.?m\.?|o'?clock)\b")
_AT_HOUR = re.compile(r"\b(?:at|around|by|a las|a la)\s+(\d{1,2})\b(?![:.]\d)(?!\s*(?:minutes|mins|pizzas|people|guests))")
_WORD_CLOCK = re.compile(
    r"\b(?:at|around|by|a las|a la)?\s*(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce)"
    r"(?:\s+(o'?clock|thirty|fifteen|forty five|forty-five|fifteen|twenty|ten|forty|fifty|y media|y cuarto|"
    r"y quince|y treinta))?(?:\s*(a\.?m\.?|p\.?m\.?|in the (?:morning|afternoon|evening)|tonight|de la (?:mañana|tarde|noche)))?\b"
)
_HALF_PAST = re.compile(r"\bhalf past (\w+)\b")
_QUARTER = re.compile(r"\bquarter (past|to|after) (\w+)\b")
_IN_MINUTES = re.compile(r"\b(?:in|en)\s+(?:about\s+|like\s+)?(\w+|\d+)\s+(minutes|mins|minutos|hours?|horas?)\b")
_IN_HALF_HOUR = re.compile(r"\b(?:in|en)\s+(?:a\s+)?(?:half an hour|half hour|media hora)\b")
_IN_AN_HOUR = re.compile(r"\b(?:in|en)\s+(?:an|one|una)\s+(?:hour|hora)\b")
_ZH_CLOCK = re.compile(r"(上午|早上|中午|下午|晚上)?([零一二两三四五六七八九十\d]{1,3})点(半|一刻|([零一二三四五六七八九十\d]{1,3})分?)?")
_ZH_IN = re.compile(r"([零一二两三四五六七八九十\d]{1,3}|半)(个)?(分钟|小时)(以?后|之后)")
_MINUTE_WORDS = {"o'clock": 0, "oclock": 0, "thirty": 30, "fifteen": 15, "forty five": 45, "forty-five": 45,
                 "twenty": 20, "ten": 10, "forty": 40, "fifty": 50, "y media": 30, "y cuarto": 15,
                 "y quince": 15, "y treinta": 30}


def _ampm(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace(".", "")
    if tag.startswith("a") or "morning" in tag or "mañana" in tag:
        return "am"
    if tag.startswith("p") or any(w in tag for w in ("afternoon", "evening", "tonight", "tarde", "noche")):
        return "pm"
    return None


def bare_time(text: str) -> TimeOfDay | RelativeTime | None:
    """A time said as a bare number, right after we asked for one: "nine",
    "9 30", "uh 11" (a recogniser may also drop or garble the "at")."""
    words = text.split()
    numbers = [w for w in words if re.fullmatch(r"\d{1,2}(?::\d{2})?", w) or words_to_number(w) is not None]
    if not numbers or len(numbers) > 2 or any(w not in _AROUND_A_TIME for w in words if w not in numbers):
        return None  # "two large pizzas" is not a time
    digits = " ".join(w for w in words if w in numbers or w in ("am", "pm", "p", "a", "m"))
    return parse_time_of_day("at " + re.sub(r"^(\d{1,2}) ([0-5]\d)\b", r"\1:\2", digits))


# Words a recogniser may put around a bare time ("out nine", "uh 11 then").
_AROUND_A_TIME = {"at", "out", "add", "and", "uh", "um", "oh", "around", "about", "by", "then", "ok", "okay", "am", "pm",
                  "p", "a", "m", "o'clock", "oclock", "please", "like", "maybe"}


def parse_time_of_day(text: str) -> TimeOfDay | RelativeTime | None:
    """'6:30', 'at 7 pm', 'seven thirty', 'half past six', 'in 20 minutes', '六点半'."""
    if "noon" in text or "mediodía" in text or "mediodia" in text or "中午十二点" in text:
        return TimeOfDay(12, 0, "pm")
    if m := _IN_HALF_HOUR.search(text):
        return RelativeTime(30)
    if m := _IN_AN_HOUR.search(text):
        return RelativeTime(60)
    if m := _IN_MINUTES.search(text):
        n = _num(m.group(1))
        if n is not None:
            return RelativeTime(n * 60 if m.group(2).startswith(("hour", "hora")) else n)
    if m := _ZH_IN.search(text):
        n = 30 if m.group(1) == "半" else words_to_number(m.group(1))
        if n is not None:
            if m.group(1) == "半" and m.group(3) == "小时":
                return RelativeTime(30)
            return RelativeTime(n * 60 if m.group(3) == "小时" else n)
    if m := _ZH_CLOCK.search(text):
        hour = words_to_number(m.group(2))
        if hour is not None and 0 <= hour <= 24:
            minute = 0
            if m.group(3) == "半":
                minute = 30
            elif m.group(3) == "一刻":
                minute = 15
            elif m.group(4):
                minute = words_to_number(m.group(4)) or 0
            period = {"上午": "am", "早上": "am", "中午": "pm", "下午": "pm", "晚上": "pm"}.get(m.group(1) or "")
            return TimeOfDay(hour % 24, minute, period)
    # A clock reading no clock shows ("at 90", "7:75") is a misheard time, not 6 pm or 8:15.
    if (m := _CLOCK.search(text)) and int(m.group(1)) <= 24 and int(m.group(2)) < 60:
        return TimeOfDay(int(m.group(1)), int(m.group(2)), _ampm(m.group(3)))
    if (m := _HOUR_AMPM.search(text)) and int(m.group(1)) <= 24:
        return TimeOfDay(int(m.group(1)), 0, _ampm(m.group(2)))
    if m := _HALF_PAST.search(text):
        h = _num(m.group(1))
        if h is not None:
            return TimeOfDay(h, 30)
    if m := _QUARTER.search(text):
        h = _num(m.group(2))
        if h is not None:
            return TimeOfDay(h, 15) if m.group(1) in ("past", "after") else TimeOfDay((h - 1) % 24, 45)
    if (m := _AT_HOUR.search(text)) and int(m.group(1)) <= 24:
        return TimeOfDay(int(m.group(1)), 0)
    if m := _WORD_CLOCK.search(text):
        has_anchor = m.group(0).split()[0] in ("at", "around", "by", "a") or m.group(2) or m.group(3)
        if has_anchor:
            h = _num(m.group(1))
            if h is not None:
                return TimeOfDay(h, _MINUTE_WORDS.get(m.group(2) or "", 0), _ampm(m.group(3)))
    return None


def parse_date(text: str, today: date) -> date | None:
    """'today', 'tomorrow', 'friday', 'next monday', 'november 28', 'the 3rd', '明天', 'mañana'."""
    if any(w in text for w in ("day after tomorrow", "pasado mañana", "pasado manana", "后天")):
        return today + timedelta(days=2)
    words = text.split()
    if any(w in ("tomorrow", "mañana", "manana") for w in words) or "明天" in text:
        # "mañana" alone is tomorrow; "de la mañana" is the morning.
        if not ("de la mañana" in text and words.count("mañana") == 1):
            return today + timedelta(days=1)
    if any(w in ("today", "tonight", "hoy", "esta noche") for w in words) or "今天" in text or "今晚" in text:
        return today
    for i, w in enumerate(words):
        month = MONTHS.get(w)
        if month is None:
            continue
        day = None
        for cand in words[i + 1 : i + 3] + words[max(0, i - 2) : i]:
            day = _day_number(cand)
            if day:
                break
        if day:
            return _next_date(today, month, day)
    for name, wd in WEEKDAYS.items():
        found = name in text if lexicon.has_cjk(name) else name in words
        if found:
            delta = (wd - today.weekday()) % 7
            if delta == 0 or "next" in words or "próximo" in words or "proximo" in words or "下" + name[-1] in text:
                delta = delta or 7
            return today + timedelta(days=delta)
    if m := re.search(r"(\d{1,2})月(\d{1,2})[日号]", text):
        return _next_date(today, int(m.group(1)), int(m.group(2)))
    if m := re.search(r"\bthe (\w+)\b", text):
        day = _day_number(m.group(1))
        if day and (m.group(1) in _ORDINAL_WORDS or not m.group(1).isdigit()):
            candidate = _next_date(today.replace(day=1), today.month, day)
            if candidate and candidate < today:
                nm = today.month % 12 + 1
                candidate = _next_date(today, nm, day)
            return candidate
    return None


def _day_number(token: str) -> int | None:
    if token in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[token]
    m = _ORDINAL.match(token)
    if m and 1 <= int(m.group(1)) <= 31:
        return int(m.group(1))
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


def resolve_time(said: TimeOfDay | RelativeTime, now: datetime, on: date | None = None) -> datetime:
    """The datetime the caller means, not before `now` when that is possible.

    A bare hour ('at 7') is read as the next such time; for a future day, the
    afternoon reading is taken for hours 1-7 (nobody books dinner at 7 am).
    """
    if isinstance(said, RelativeTime):
        return now + timedelta(minutes=said.minutes)
    day = on or now.date()
    hours = [said.hour % 24]
    if said.ampm == "pm" and said.hour < 12:
        hours = [said.hour + 12]
    elif said.ampm == "am" and said.hour == 12:
        hours = [0]
    elif said.ampm is None and 1 <= said.hour <= 11:
        hours = [said.hour + 12, said.hour] if said.hour <= 7 else [said.hour, said.hour + 12]
    candidates = [datetime.combine(day, time(h, said.minute), tzinfo=now.tzinfo) for h in hours]
    if day == now.date():
        future = sorted(c for c in candidates if c > now)
        if future:
            return future[0]
        return candidates[0] + timedelta(days=1)
    return candidates[0]


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


def parse_name(text: str, language: str, asked: bool) -> str | None:
    """'my name is Maria', 'it's under Lee' — or a bare name when we just asked."""
    patterns = [lexicon.NAME_INTROS.get(language, lexicon.NAME_INTROS["en"])]
    if asked:
        patterns.append(lexicon.NAME_INTROS_ASKED.get(language, lexicon.NAME_INTROS_ASKED["en"]))
    for pattern in patterns:
        for m in re.finditer(pattern, text):
            name = _clean_name(m.group(1), language)
            if name:
                return name
    if asked:
        words = [w for w in re.split(r"\s+", text) if w]
        while len(words) > 1 and words[0] in lexicon.NAME_FILLERS:  # "oh, Olivia", "uh Henry"
            words = words[1:]
        if language == "zh" and 1 <= len(text.replace(" ", "")) <= 6:
            return text.replace(" ", "")
        if 1 <= len(words) <= 3 and not any(w in lexicon.NOT_NAMES for w in words):
            return _clean_name(" ".join(words), language)
    return None


def _clean_name(raw: str, language: str) -> str | None:
    if language == "zh" and lexicon.has_cjk(raw):
        return raw.strip() or None
    words = []
    for w in raw.split():
        if w in lexicon.NAME_STOP_WORDS:
            break
        words.append(w)
    words = words[:3]
    if not words or words[0] in lexicon.NOT_NAMES or words_to_number(words[0]) is not None:
        return None
    return " ".join(w.capitalize() for w in words)


_ADDRESS = re.compile(
    r"\b(\d{1,6}\s+[a-z0-9áéíóúñ' .-]{2,60}?\b(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|"
    r"way|court|ct|place|pl|calle|avenida|terrace|parkway|pkwy|circle)\b\.?(?:\s+(?:apartment|apt|unit|suite|#)\s*\w+)?)"
)


def parse_address(text: str, asked: bool) -> str | None:
    """A street address said anywhere; any answer when we just asked for one."""
    if m := _ADDRESS.search(text):
        return _title(m.group(1))
    if asked:
        cleaned = re.sub(r"^(?:it's|it is|to|at|deliver to|the address is|address is|my address is|es|en)\s+", "", text)
        if len(cleaned) >= 6 and any(ch.isdigit() for ch in cleaned):
            return _title(cleaned)
        if len(cleaned) >= 4 and lexicon.has_cjk(cleaned):
            return cleaned
    return None


def _title(s: str) -> str:
    return " ".join(w if w.isdigit() else w.capitalize() for w in s.split())


def parse_count(text: str) -> int | None:
    """The first number in the text: '4 people', 'party of six', '三位'."""
    for token in re.findall(r"\d+|[\w']+", text):
        n = _num(token)
        if n is not None and n > 0:
            return n
    if m := re.search(r"([一二两三四五六七八九十]+)\s*[位个人晚]", text):
        return words_to_number(m.group(1))
    return None
