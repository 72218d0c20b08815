"""Items sold by the pack: a count said in pieces is rung up in packs, or asked about.

Against the bundled catalogs, whose wings come ten to an order, churros three,
batteries eight and light bulbs four to a pack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.catalog import load_catalog
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import parse_quantity
from agi.dialogue.parser import parse_order

CATALOGS = Path(__file__).parents[2] / "playbooks" / "catalogs"


@pytest.fixture(scope="module")
def catalogs():
    return {stem: load_catalog(CATALOGS / f"{stem}.yaml") for stem in ("pizzeria", "taqueria", "retail")}


@pytest.mark.parametrize(
    "stem, language, text, item, quantity, pieces",
    [
        ("pizzeria", "en", "twenty wings with barbecue sauce", "wings", 2, None),
        ("pizzeria", "en", "thirty buffalo wings", "wings", 3, None),
        ("pizzeria", "en", "half a dozen wings", "wings", 1, 6),
        ("pizzeria", "en", "a dozen wings", "wings", 2, 12),
        ("pizzeria", "en", "two orders of wings", "wings", 2, None),
        ("pizzeria", "en", "an order of wings", "wings", 1, None),
        ("pizzeria", "es", "veinte alitas de pollo", "wings", 2, None),
        ("pizzeria", "es", "dos órdenes de alitas de pollo", "wings", 2, None),
        ("pizzeria", "zh", "二十个鸡翅", "wings", 2, None),
        ("pizzeria", "zh", "两份鸡翅", "wings", 2, None),
        ("taqueria", "en", "half a dozen churros", "churros", 2, None),
        ("taqueria", "en", "two churros", "churros", 1, 2),
        ("taqueria", "es", "media docena de churros", "churros", 2, None),
        ("taqueria", "zh", "半打吉事果", "churros", 2, None),
        ("retail", "en", "a dozen light bulbs, the LED ones", "led-bulbs", 3, None),
        ("retail", "en", "sixteen double a batteries", "batteries", 2, None),
        ("retail", "en", "two battery packs", "batteries", 2, None),
        ("retail", "en", "two packs of AA batteries", "batteries", 2, None),
        ("retail", "en", "ten light bulbs", "led-bulbs", 3, 10),
    ],
)
def test_a_count_in_pieces_is_rung_up_in_packs(catalogs, stem, language, text, item, quantity, pieces):
    parsed = parse_order(text, catalogs[stem], language).lines
    assert [(p.line.catalog_id, p.line.quantity, p.pieces) for p in parsed] == [(item, quantity, pieces)]


def test_an_item_sold_one_by_one_keeps_its_count(catalogs):
    parsed = parse_order("twelve garlic knots and twenty cokes", catalogs["pizzeria"]).lines
    assert [(p.line.catalog_id, p.line.quantity, p.pieces) for p in parsed] == [
        ("garlic-knots", 12, None), ("coke", 20, None)]


@pytest.mark.parametrize("text, value, used", [("一打鸡翅", 12, 2), ("两打鸡翅", 24, 2), ("半打鸡翅", 6, 2)])
def test_a_chinese_dozen(text, value, used):
    assert parse_quantity(tokenize(text), 0) == (value, used)
