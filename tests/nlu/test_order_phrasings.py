"""Phrasings that lost or twisted part of an order, against the bundled catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.catalog import load_catalog
from agi.dialogue.parser import parse_order

CATALOGS = Path(__file__).parents[2] / "playbooks" / "catalogs"


@pytest.fixture(scope="module")
def catalogs():
    return {p.stem: load_catalog(p) for p in CATALOGS.glob("*.yaml")}


def lines(text, catalog, language="en"):
    return [
        (p.line.quantity, p.line.catalog_id, p.line.variation_id,
         {m.catalog_id: m.qualifier.value for m in p.line.modifiers})
        for p in parse_order(text, catalog, language).lines
    ]


@pytest.mark.parametrize("text", ["can I get a small pepperoni and garlic knots",
                                  "a small pepperoni, and garlic knots"])
def test_what_is_said_before_and_is_a_line_of_its_own(catalogs, text):
    # The size and topping said before "and" named the pepperoni pizza; garlic knots take neither.
    assert lines(text, catalogs["pizzeria"]) == [
        (1, "pizza-pepperoni", "pep-small", {}), (1, "garlic-knots", None, {})]


def test_options_before_and_still_go_with_the_item_that_takes_them(catalogs):
    assert lines("extra cheese and pepperoni pizza, large", catalogs["pizzeria"]) == [
        (1, "pizza-pepperoni", "pep-large", {"top-cheese": "extra"})]


@pytest.mark.parametrize(
    "text",
    ["I'm allergic to dairy, so a chicken bowl with no cheese please",
     "no dairy for me please, so a chicken bowl with no cheese"],
)
def test_a_negation_about_a_word_off_the_menu_stays_there(catalogs, text):
    assert lines(text, catalogs["taqueria"]) == [(1, "bowl", None, {"fill-pollo": "normal", "top-cheese": "no"})]


def test_i_dont_want_a_coke_keeps_its_negation(catalogs):
    assert lines("a burrito, I don't want a coke", catalogs["taqueria"]) == [(1, "burrito", None, {})]


def test_the_x_one_is_the_line_being_described(catalogs):
    assert lines("I'd like a large candle, the sea salt one, and can you gift wrap it?", catalogs["retail"]) == [
        (1, "candle", "candle-large", {"scent-sea-salt": "normal", "wrap-gift": "normal"})]


@pytest.mark.parametrize(
    "text, language",
    [("a medium latte, no oat milk, just regular milk", "en"),
     ("un latte mediano sin leche de avena, con leche entera", "es")],
)
def test_a_milk_refused_leaves_room_for_the_milk_chosen(catalogs, text, language):
    # Milk is a pick-one group: the "no" takes no room, so the milk chosen is kept.
    assert lines(text, catalogs["cafe"], language) == [
        (1, "latte", "latte-medium", {"milk-oat": "no", "milk-whole": "normal"})]


def test_an_item_that_is_out_carries_what_was_said_with_it(catalogs):
    result = parse_order("an iced matcha latte, large", catalogs["cafe"])
    assert result.lines == []
    [out] = result.unavailable
    assert (out.item_id, out.variation_name, [m.catalog_id for m in out.modifiers]) == (
        "matcha-latte", "large", ["temp-iced"])


def test_digits_next_to_chinese_are_a_count(catalogs):
    assert lines("我要2个蒜香面包结", catalogs["pizzeria"], "zh") == [(2, "garlic-knots", None, {})]


def test_a_size_named_only_for_other_items_is_taken_by_its_name(catalogs):
    # The hawaiian's sizes have no Spanish names; "grande" is the other pizzas' large.
    [out] = parse_order("una pizza hawaiana grande", catalogs["pizzeria"], "es").unavailable
    assert out.variation_name == "large"
