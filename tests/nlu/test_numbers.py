"""Quantities as callers say them, in English, Spanish and Chinese."""

from __future__ import annotations

import pytest

from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import parse_quantity, words_to_number


@pytest.mark.parametrize(
    "text, value",
    [
        ("two", 2), ("2", 2), ("twelve", 12), ("twenty five", 25), ("twenty-five", 25), ("a hundred", 100),
        ("dos", 2), ("una", 1), ("veintidós", 22), ("treinta y dos", 32),
        ("两", 2), ("三", 3), ("十二", 12), ("二十五", 25), ("一百零五", 105),
    ],
)
def test_words_to_number(text, value):
    assert words_to_number(text) == value


@pytest.mark.parametrize("text", ["a", "pizza", "", "two pizzas", "oh no"])
def test_words_to_number_refuses_non_numbers(text):
    assert words_to_number(text) is None


@pytest.mark.parametrize(
    "phrase, value, used",
    [
        ("a pizza", 1, 1), ("an order", 1, 1), ("one coke", 1, 1), ("just one coke", 1, 2),
        ("a couple of cokes", 2, 3), ("a couple cokes", 2, 2), ("a pair of tacos", 2, 3),
        ("half a dozen wings", 6, 3), ("half dozen wings", 6, 2), ("a dozen wings", 12, 2),
        ("dozen wings", 12, 1), ("two dozen tacos", 24, 2), ("2 pizzas", 2, 1), ("twenty two tacos", 22, 2),
        ("five thousand bulbs", 5000, 2), ("una pizza", 1, 1), ("dos tacos", 2, 1), ("un par de tacos", 2, 3),
        ("media docena de tacos", 6, 2), ("三个塔可", 3, 2), ("两杯可乐", 2, 2), ("十二个鸡翅", 12, 3),
    ],
)
def test_parse_quantity(phrase, value, used):
    assert parse_quantity(tokenize(phrase), 0) == (value, used)


@pytest.mark.parametrize("phrase", ["pizza please", "oh and a coke", "zero cokes", ""])
def test_parse_quantity_none(phrase):
    assert parse_quantity(tokenize(phrase), 0) is None
