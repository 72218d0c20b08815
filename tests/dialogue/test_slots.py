"""Slot values out of what callers actually say."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agi.dialogue import address as A
from agi.dialogue import dates as D
from agi.dialogue import slots as S
from agi.dialogue import times as T
from agi.dialogue.lexicon import normalise
from agi.dialogue.names import parse_name

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 17, 10, tzinfo=NY)  # a Friday


@pytest.mark.parametrize(
    "said, expected",
    [
        ("pickup at 6:30", "18:30"),
        ("at 7", "19:00"),
        ("seven thirty please", "19:30"),
        ("two pizzas please", None),  # a quantity, not a time
        ("at seven thirty", "19:30"),
        ("around 8 pm", "20:00"),
        ("half past six", "18:30"),
        ("quarter to seven", "18:45"),
        ("in 30 minutes", "17:40"),
        ("in half an hour", "17:40"),
        ("in an hour", "18:10"),
        ("a las seis y media", "18:30"),
        ("六点半", "18:30"),
        ("晚上7点", "19:00"),
        ("半小时后", "17:40"),
        ("9:15 am", None),  # already past today: tomorrow morning
    ],
)
def test_times_today(said, expected):
    parsed = T.parse_time_of_day(normalise(said))
    if said == "two pizzas please":
        assert parsed is None
        return
    when = T.resolve_time(parsed, NOW)
    if said == "9:15 am":
        assert when == datetime(2026, 11, 21, 9, 15, tzinfo=NY)
    else:
        assert when.strftime("%H:%M") == expected and when.date() == NOW.date()


@pytest.mark.parametrize("said", ["friday at 90, and", "at 7:75", "around 31 pm"])
def test_a_time_no_clock_shows_is_not_taken_as_another(said):
    # "Friday at 9 am" misheard as "Friday at 90" must be asked again, not booked at 6 pm.
    assert T.parse_time_of_day(normalise(said)) is None


@pytest.mark.parametrize(
    "said, expected",
    [
        ("tomorrow", date(2026, 11, 21)),
        ("today", date(2026, 11, 20)),
        ("next monday", date(2026, 11, 23)),
        ("on tuesday", date(2026, 11, 24)),
        ("friday", date(2026, 11, 27)),  # today is Friday: the next one
        ("december 3rd", date(2026, 12, 3)),
        ("the 28th", date(2026, 11, 28)),
        ("mañana", date(2026, 11, 21)),
        ("el viernes", date(2026, 11, 27)),
        ("明天", date(2026, 11, 21)),
        ("下周一", date(2026, 11, 23)),
        ("12月3日", date(2026, 12, 3)),
    ],
)
def test_dates(said, expected):
    assert D.parse_date(normalise(said), NOW.date()) == expected


def test_future_day_bare_hour_is_afternoon():
    when = T.resolve_time(T.parse_time_of_day("at 3"), NOW, date(2026, 11, 21))
    assert when == datetime(2026, 11, 21, 15, 0, tzinfo=NY)


@pytest.mark.parametrize(
    "said, expected",
    [
        ("my number is 555 123 4567", "5551234567"),
        ("it's (555) 987-6543", "5559876543"),
        ("five five five one two three four five six seven", "5551234567"),
        ("+1 555 222 3333", "+15552223333"),
        ("two pizzas", None),
    ],
)
def test_phone_numbers(said, expected):
    assert S.parse_phone(normalise(said)) == expected


@pytest.mark.parametrize(
    "said, language, asked, expected",
    [
        ("my name is maria", "en", False, "Maria"),
        ("name's maria and pickup at 6", "en", False, "Maria"),
        ("it's under john smith", "en", False, "John Smith"),
        ("maria", "en", True, "Maria"),
        ("maria", "en", False, None),
        ("i'm hungry", "en", False, None),
        ("me llamo lucía", "es", False, "Lucía"),
        ("我叫王伟", "zh", False, "王伟"),
    ],
)
def test_names(said, language, asked, expected):
    assert parse_name(normalise(said), language, asked) == expected


def test_addresses():
    assert A.parse_address(normalise("deliver to 12 oak street please"), False) == "12 Oak Street"
    assert A.parse_address(normalise("it's 450 west 33rd st apt 4b"), False) == "450 West 33rd St Apt 4B"  # a unit letter is written as on the door
    assert A.parse_address(normalise("pickup please"), False) is None
    assert A.parse_address(normalise("77 harbor view"), True) == "77 Harbor View"


def test_counts():
    assert S.parse_count(normalise("party of six")) == 6
    assert S.parse_count(normalise("2 adults")) == 2
    assert S.parse_count(normalise("三位")) == 3
