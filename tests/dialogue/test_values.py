"""Values out of the phrasings people use: times, counts, addresses, names, and which
numbers of a turn are not quantities."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agi.dialogue.address import find_address, outside_area
from agi.dialogue.counts import Unit, count_of
from agi.dialogue.dates import parse_date
from agi.dialogue.lexicon import normalise
from agi.dialogue.names import parse_name
from agi.dialogue.policy import said_in_any_order
from agi.dialogue.spans import find_spans, masked
from agi.dialogue.times import find_time, resolve_time

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 9, 11, 0, tzinfo=NY)  # a Wednesday morning


@pytest.mark.parametrize(
    "said, expected",
    [
        ("I'll pick it up at twenty past eight", "20:20"),
        ("ten to seven", "18:50"),
        ("quarter to 7", "18:45"),
        ("around 4 this afternoon", "16:00"),
        ("change the pickup time to seven", "19:00"),
        ("make the pickup time for seven thirty", "19:30"),
        ("one large pepperoni pizza for pickup at seven thirty", "19:30"),
        ("tomorrow morning at 7:15", "07:15"),
        ("quiero dos tacos para recoger a las siete", "19:00"),
        ("un chocolate caliente para las cinco", "17:00"),
        ("at noon", "12:00"),
    ],
)
def test_times_said_in_words_and_parts_of_the_day(said, expected):
    found = find_time(normalise(said))
    assert found is not None, said
    day = parse_date(normalise(said), NOW.date())
    assert resolve_time(found.value, NOW, day).strftime("%H:%M") == expected


def test_a_greeting_says_no_part_of_the_day():
    found = find_time(normalise("good afternoon! could I get a manicure on Friday around eleven"))
    assert found is not None and found.value.ampm is None  # Friday at 11 am, not 11 pm


@pytest.mark.parametrize("said", ["one large pepperoni pizza", "two tacos and a coke", "a five by seven frame"])
def test_a_number_alone_is_no_time(said):
    found = find_time(normalise(said))
    assert found is None or "by seven" in said


@pytest.mark.parametrize(
    "said, day",
    [
        ("this afternoon at two", date(2026, 12, 9)),
        ("for 2 adults, checking in on the 5th of January, 4 nights", date(2027, 1, 5)),
        ("the harbor view suite for the 18th, three nights", date(2026, 12, 18)),
        ("el domingo en la mañana", date(2026, 12, 13)),
        ("en la mañana", None),  # the morning, not tomorrow
        ("mañana en la mañana", date(2026, 12, 10)),
    ],
)
def test_days(said, day):
    assert parse_date(normalise(said), NOW.date()) == day


@pytest.mark.parametrize(
    "said, nights, people",
    [
        ("a king room for a couple of nights from Thursday, me and my wife", 2, 2),
        ("there's five of us, so the family suite, December 23rd for four nights", 4, 5),
        ("a double queen for a week starting December 20th, three guests", 7, 3),
        ("two weeks", 14, None),
        ("just me", None, 1),
        ("2 adults and 2 kids", None, 4),
        ("somos dos", None, 2),
        ("住三晚，两位", 3, 2),
        ("1 guest", None, 1),
    ],
)
def test_counts_as_people_say_them(said, nights, people):
    norm = normalise(said)
    assert (count_of(Unit.NIGHTS, norm), count_of(Unit.PEOPLE, norm)) == (nights, people)


@pytest.mark.parametrize(
    "said, address, zip_code, place",
    [
        ("25 Valencia Street apartment 2, 94110", "25 Valencia Street Apartment 2 94110", "94110", None),
        ("88 Main Street, Naperville", "88 Main Street Naperville", None, "naperville"),
        ("4821 north damen avenue, chicago 60625 and my name is bob", "4821 North Damen Avenue Chicago 60625", "60625",
         "chicago"),
        ("twenty one fifty West Foster Avenue, Chicago 60625", "2150 West Foster Avenue Chicago 60625", "60625",
         "chicago"),
        ("6030 North Sheridan Road, apartamento 3, Chicago 60660", "6030 North Sheridan Road Apartamento 3 Chicago 60660",
         "60660", "chicago"),
        ("12 elm street in evanston tomorrow", "12 Elm Street Evanston", None, "evanston"),
    ],
)
def test_addresses_keep_unit_place_and_zip(said, address, zip_code, place):
    found = find_address(normalise(said))
    assert found is not None
    assert (found.text, found.zip, found.place) == (address, zip_code, place)


@pytest.mark.parametrize("said", ["2 pizzas to 12 oak street", "2 large pizzas either way", "two large square pizzas"])
def test_an_order_is_no_address(said):
    found = find_address(normalise(said))
    assert found is None or found.text == "12 Oak Street"


def test_the_area_decides_by_zip_then_place():
    area = ["chicago", "evanston", "60625", "60640"]
    assert outside_area("88 main street naperville", area) == "Naperville"
    assert outside_area("1 main street chicago 60616", area) == "60616"
    assert outside_area("1 main street evanston", area) is None
    assert outside_area("1 main street", area) is None  # nothing to tell by: taken


@pytest.mark.parametrize(
    "said, left",
    [
        ("change the pickup time to seven", "change the pickup"),
        ("25 valencia street apartment 2 94110", ""),
        ("two tacos at 7 and my number is 415 555 0101", "two tacos and my number is"),
        ("a double room for 3 nights the 5th", "a double room for"),
    ],
)
def test_the_words_left_for_the_order(said, left):
    norm = normalise(said)
    assert masked(norm, find_spans(norm)) == left


@pytest.mark.parametrize(
    "said, language, name",
    [
        ("hey, this is Jamie, could I get a large pizza", "en", "Jamie"),
        ("I'm Pat, one medium pepperoni", "en", "Pat"),
        ("my name's Ruth and I'd like a pizza", "en", "Ruth"),
        ("it's for Omar", "en", "Omar"),
        ("put it under Nakamura he needs it by six", "en", "Nakamura"),
        ("soy Ana y quiero dos tacos", "es", "Ana"),
        ("me llamo Luis Ortega, mi teléfono se mojó", "es", "Luis Ortega"),
        ("a nombre de Carmen", "es", "Carmen"),
        ("我叫王明，要两份", "zh", "王明"),
        ("我是李先生", "zh", "李先生"),
        ("this is for pickup", "en", None),
        ("I'm good", "en", None),
        ("I'm calling about my order", "en", None),
        ("it's for delivery", "en", None),
        ("I'm allergic to nuts", "en", None),
        ("I'm due for my annual physical", "en", None),
        ("I'm craving pizza", "en", None),
    ],
)
def test_names_said_in_passing(said, language, name):
    assert parse_name(said, language, asked=False) == name


@pytest.mark.parametrize(
    "said, answer",
    [("oh wait, it's five guests not four", None), ("Sam, thanks", "Sam"), ("great, it's Grace", "Grace"),
     ("sí", None), ("es todo", None)],
)
def test_answers_to_what_is_your_name(said, answer):
    language = "es" if said in ("sí", "es todo") else "en"
    assert parse_name(said, language, asked=True) == answer


@pytest.mark.parametrize(
    "said, phrase",
    [
        ("my baby has a really high fever", "high fever baby"),
        ("my baby's fever is really high, it's been going up", "high fever baby"),
        ("my husband has breathing trouble, can he come in today?", "trouble breathing"),
        ("mi esposo tiene un dolor muy fuerte en el pecho", "dolor de pecho"),
        ("我爸爸胸口很疼，想约个时间", "胸口疼"),
        ("I need a flu shot", None),
        ("i was short on time and out of breath", None),  # the words too far apart
    ],
)
def test_urgent_words_in_any_order(said, phrase):
    phrases = ["chest pain", "trouble breathing", "high fever baby", "dolor de pecho", "胸口疼", "short of breath"]
    assert said_in_any_order(said, phrases) == phrase
