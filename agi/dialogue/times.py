"""Clock times out of caller words, with where in the words they were said.

`find_time` returns the time and its character span, so the rest of the turn
knows those words are taken: "change the pickup time to seven" is a time, not
seven of the last item. Every pattern reads normalised text
(lexicon.normalise); none reads a clock: "now" is passed to `resolve_time`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from agi.dialogue.numbers import words_to_number


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A clock time as said: `ampm` is None when the caller did not say."""

    hour: int
    minute: int
    ampm: str | None = None


@dataclass(frozen=True, slots=True)
class RelativeTime:
    minutes: int


Said = TimeOfDay | RelativeTime


@dataclass(frozen=True, slots=True)
class FoundTime:
    value: Said
    start: int
    end: int


def _num(token: str) -> int | None:
    return int(token) if token.isdigit() else words_to_number(token)


_HOUR_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    "una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce"
)
_AMPM = r"a\.?m\.?|p\.?m\.?"
_MINUTES_SAID = (
    r"o'?clock|thirty|fifteen|forty five|forty-five|twenty five|twenty-five|twenty|ten|forty|fifty|oh five|"
    r"y media|y cuarto|y quince|y treinta|y diez|y veinte"
)
_MINUTE_WORDS = {
    "o'clock": 0, "oclock": 0, "thirty": 30, "fifteen": 15, "forty five": 45, "forty-five": 45,
    "twenty five": 25, "twenty-five": 25, "twenty": 20, "ten": 10, "forty": 40, "fifty": 50, "oh five": 5,
    "y media": 30, "y cuarto": 15, "y quince": 15, "y treinta": 30, "y diez": 10, "y veinte": 20,
}
_CLOCK = re.compile(rf"\b(\d{{1,2}})[:.](\d{{2}})\s*({_AMPM})?")
_HOUR_AMPM = re.compile(rf"\b(\d{{1,2}})\s*({_AMPM}|o'?clock)(?!\w)")
_AT_HOUR = re.compile(
    r"\b(?:at|around|by|about|a las|a la|para las|para la)\s+(\d{1,2})\b(?![:.]\d)"
    r"(?!\s*(?:minutes|mins|pizzas|people|persons|guests|of us|nights))"
)
_WORD_CLOCK = re.compile(
    rf"\b(at|around|by|about|a las|a la|para las|para la)?\s*\b({_HOUR_WORDS})\b(?:\s+({_MINUTES_SAID}))?(?:\s*({_AMPM})(?!\w))?"
)
# "twenty past eight", "ten to seven", "quarter to 7", "half past six", "veinte para las ocho"
_PAST_TO = re.compile(
    r"(?<!the )(?<!change )\b(a quarter|quarter|half|five|ten|twenty|twenty five|twenty-five|5|10|20|25)"
    r"(?: minutes)?\s+(past|after|to|till|til|before)\s+(\d{1,2}|" + _HOUR_WORDS + r")\b"
    r"(?!\s*(?:minutes|mins|people|persons|guests|nights|hours|days))"
)
# "change the pickup time to seven", "the time for 8 thirty": after the word time, a bare hour is a time.
_TIME_WORD_HOUR = re.compile(
    rf"\b(?:time|hora)\b(?:\s+\w+){{0,2}}?\s+(?:to|at|for|is|be|around|by|a las|a la|para las|a)\s+"
    rf"(\d{{1,2}}|{_HOUR_WORDS})(?:\s+({_MINUTES_SAID}|\d{{2}}))?(?:\s*({_AMPM})(?!\w))?\b"
    r"(?!\s*(?:people|persons|guests|of us|nights|minutes|mins))"
)
_NOON = re.compile(r"\b(?:noon|midday|mediodía|mediodia)\b|中午十二点")
_IN_MINUTES = re.compile(r"\b(?:in|en)\s+(?:about\s+|like\s+)?(\w+|\d+)\s+(minutes|mins|minutos|hours?|horas?)\b")
_IN_HALF_HOUR = re.compile(r"\b(?:in|en)\s+(?:a\s+)?(?:half an hour|half hour|media hora)\b")
_IN_AN_HOUR = re.compile(r"\b(?:in|en)\s+(?:an|one|una)\s+(?:hour|hora)\b")
_ZH_CLOCK = re.compile(r"(上午|早上|中午|下午|晚上)?([零一二两三四五六七八九十\d]{1,3})点(半|一刻|([零一二三四五六七八九十\d]{1,3})分?)?")
_ZH_IN = re.compile(r"([零一二两三四五六七八九十\d]{1,3}|半)(个)?(分钟|小时)(以?后|之后)")
# The part of the day, said anywhere in the turn: "tomorrow morning at 7:15", "around 4 this afternoon".
GREETING = re.compile(
    r"\bgood (?:morning|afternoon|evening)\b|\bbuenas tardes\b|\bbuenas noches\b|\bbuenos días\b|\bbuenos dias\b"
)
# "morning! I need ..." opens with a greeting too, where no time is asked
_OPENING_GREETING = re.compile(r"^(?:morning|afternoon|evening)\b(?!\s*$)")
_MORNING = re.compile(r"\b(?:morning|this morning|in the morning|(?:de|por|en) la (?:mañana|manana))\b|上午|早上")
_AFTERNOON = re.compile(
    r"\b(?:afternoon|evening|tonight|this evening|de la tarde|por la tarde|de la noche|por la noche|esta noche)\b"
    r"|下午|晚上|今晚"
)


def _ampm(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace(".", "")
    if tag.startswith("a"):
        return "am"
    if tag.startswith("p"):
        return "pm"
    return None


def _clock(m: re.Match[str]) -> Said | None:
    hour, minute = int(m.group(1)), int(m.group(2))
    # A clock reading no clock shows ("at 90", "7:75") is a misheard time, not 6 pm or 8:15.
    return TimeOfDay(hour, minute, _ampm(m.group(3))) if hour <= 24 and minute < 60 else None


def _hour_ampm(m: re.Match[str]) -> Said | None:
    hour = int(m.group(1))
    return TimeOfDay(hour, 0, _ampm(m.group(2))) if hour <= 24 else None


def _past_to(m: re.Match[str]) -> Said | None:
    said = m.group(1)
    minutes = {"quarter": 15, "a quarter": 15, "half": 30}.get(said)
    minutes = minutes if minutes is not None else _num(said.replace("-", " "))
    hour = _num(m.group(3))
    if minutes is None or hour is None or not 0 < minutes < 60 or not 0 < hour <= 24:
        return None
    if m.group(2) in ("past", "after"):
        return TimeOfDay(hour, minutes)
    return TimeOfDay((hour - 1) % 24 or 12, 60 - minutes)


def _at_hour(m: re.Match[str]) -> Said | None:
    hour = int(m.group(1))
    return TimeOfDay(hour, 0) if hour <= 24 else None


def _word_clock(m: re.Match[str]) -> Said | None:
    if not (m.group(1) or m.group(3) or m.group(4)):
        return None  # "one large pizza": a number word alone is no time
    hour = _num(m.group(2))
    return TimeOfDay(hour, _MINUTE_WORDS.get(m.group(3) or "", 0), _ampm(m.group(4))) if hour else None


def _time_word_hour(m: re.Match[str]) -> Said | None:
    hour = _num(m.group(1))
    if hour is None or not 0 < hour <= 24:
        return None
    said = m.group(2) or ""
    minute = int(said) if said.isdigit() else _MINUTE_WORDS.get(said, 0)
    return TimeOfDay(hour, minute, _ampm(m.group(3))) if minute < 60 else None


def _zh_clock(m: re.Match[str]) -> Said | None:
    hour = words_to_number(m.group(2))
    if hour is None or not 0 <= hour <= 24:
        return None
    minute = {"半": 30, "一刻": 15}.get(m.group(3) or "", 0)
    if m.group(4):
        minute = words_to_number(m.group(4)) or 0
    period = {"上午": "am", "早上": "am", "中午": "pm", "下午": "pm", "晚上": "pm"}.get(m.group(1) or "")
    return TimeOfDay(hour % 24, minute, period)


def _zh_in(m: re.Match[str]) -> Said | None:
    if m.group(1) == "半":
        return RelativeTime(30)
    n = words_to_number(m.group(1))
    if n is None:
        return None
    return RelativeTime(n * 60 if m.group(3) == "小时" else n)


def _in_minutes(m: re.Match[str]) -> Said | None:
    n = _num(m.group(1))
    if n is None:
        return None
    return RelativeTime(n * 60 if m.group(2).startswith(("hour", "hora")) else n)


# In the order tried: the first pattern with a match in the words wins.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Said | None]], ...] = (
    (_NOON, lambda m: TimeOfDay(12, 0, "pm")),
    (_IN_HALF_HOUR, lambda m: RelativeTime(30)),
    (_IN_AN_HOUR, lambda m: RelativeTime(60)),
    (_IN_MINUTES, _in_minutes),
    (_ZH_IN, _zh_in),
    (_ZH_CLOCK, _zh_clock),
    (_CLOCK, _clock),
    (_HOUR_AMPM, _hour_ampm),
    (_PAST_TO, _past_to),
    (_TIME_WORD_HOUR, _time_word_hour),
    (_AT_HOUR, _at_hour),
    (_WORD_CLOCK, _word_clock),
)


def find_time(text: str) -> FoundTime | None:
    """The time said in `text` and where: '6:30', 'at 7 pm', 'seven thirty', 'twenty past
    eight', 'change the time to seven', 'in 20 minutes', '六点半'; the part of the day said
    anywhere ('tomorrow morning at 7:15', 'around 4 this afternoon') sets am or pm."""
    for pattern, read in _PATTERNS:
        for m in pattern.finditer(text):
            value = read(m)
            if value is not None:
                return FoundTime(_with_daypart(value, text), m.start(), m.end())
            if pattern is _CLOCK:
                return None  # "Friday at 90": a time was said, misheard; nothing else stands for it
    return None


def parse_time_of_day(text: str) -> Said | None:
    found = find_time(text)
    return found.value if found is not None else None


def _with_daypart(value: Said, text: str) -> Said:
    return with_ampm(value, daypart(text))


# A part of the day said for a time to come ("for tomorrow morning", "this afternoon"), not a greeting.
LATER_DAYPART = re.compile(
    r"\b(?:this|tomorrow|in the|for the|by|until) (?:morning|afternoon|evening)\b|\btonight\b"
    r"|\b(?:por|en|de) la (?:mañana|manana|tarde|noche)\b|\besta (?:tarde|noche)\b|明天(?:上午|下午|晚上|早上)|今天(?:上午|下午|晚上)|今晚"
)


def daypart(text: str) -> str | None:
    """'am' or 'pm' when the part of the day is said ("tomorrow morning", "this afternoon")."""
    text = _OPENING_GREETING.sub(" ", GREETING.sub(" ", text))  # "good afternoon! a manicure around eleven" is 11 am
    if _AFTERNOON.search(text):
        return "pm"
    if _MORNING.search(text):
        return "am"
    return None


def with_ampm(value: Said, ampm: str | None) -> Said:
    """The time with the part of the day said elsewhere, when the time itself did not say."""
    if ampm is None or not isinstance(value, TimeOfDay) or value.ampm is not None or value.hour > 12:
        return value
    return TimeOfDay(value.hour, value.minute, ampm)


def bare_time(text: str) -> Said | None:
    """A time said as a bare number, right after we asked for one: "nine",
    "9 30", "uh 11" (a recogniser may also drop or garble the "at")."""
    words = text.split()
    # "oh" is a number only after one ("seven oh five"); "oh wait, make it three" says three
    numbers = [
        w for i, w in enumerate(words)
        if re.fullmatch(r"\d{1,2}(?::\d{2})?", w)
        or (words_to_number(w) is not None and (w != "oh" or (i > 0 and words_to_number(words[i - 1]) not in (None, 0))))
    ]
    if not numbers or len(numbers) > 2 or any(w not in _AROUND_A_TIME for w in words if w not in numbers):
        return None  # "two large pizzas" is not a time
    digits = " ".join(w for w in words if w in numbers or w in ("am", "pm", "p", "a", "m"))
    return parse_time_of_day("at " + re.sub(r"^(\d{1,2}) ([0-5]\d)\b", r"\1:\2", digits))


# Words a recogniser or a caller may put around a bare time ("out nine", "uh 11 then", "make it 8 instead").
_AROUND_A_TIME = {"at", "out", "add", "and", "uh", "um", "oh", "around", "about", "by", "then", "ok", "okay", "am", "pm",
                  "p", "a", "m", "o'clock", "oclock", "please", "like", "maybe", "make", "it", "instead", "actually",
                  "no", "change", "to", "let's", "lets", "say", "how", "wait", "sorry", "rather", "can", "could",
                  "we", "do", "i", "is", "that", "ok", "what", "probably", "instead", "better"}


def resolve_time(said: Said, now: datetime, on: date | None = None) -> datetime:
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
