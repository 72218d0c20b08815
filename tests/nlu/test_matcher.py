"""Finding menu names in what a caller said: exact, per language, plural, re-spaced, misheard."""

from __future__ import annotations

from agi.catalog import catalog_from_data
from agi.dialogue.matcher import CatalogMatcher, matcher_for
from agi.dialogue.nlu_text import tokenize

from .conftest import PIZZERIA


def _found(catalog, text, language="en"):
    return [
        (m.kind, {"item": m.item_id, "variation": m.variation_id, "modifier": m.modifier_id}[m.kind], m.text)
        for m in CatalogMatcher(catalog, language).find(text)
    ]


def test_names_synonyms_and_plurals(pizzeria):
    found = _found(pizzeria, "two pies with bell peppers, olives and an italian sausage, plus three cokes")
    assert ("item", "pizza", "pies") in found
    assert ("modifier", "top-peppers", "bell peppers") in found
    assert ("modifier", "top-olives", "olives") in found
    assert ("modifier", "top-sausage", "italian sausage") in found
    assert ("item", "coke", "cokes") in found


def test_longest_name_wins(pizzeria):
    found = _found(pizzeria, "a large pizza on gluten free crust")
    assert ("modifier", "crust-gf", "gluten free crust") in found
    assert not any(text == "free" for _kind, _id, text in found)


def test_sizes_report_their_item(pizzeria):
    [size] = CatalogMatcher(pizzeria).find("large")
    assert (size.kind, size.variation_id, size.item_id) == ("variation", "pizza-large", "pizza")


def test_names_in_spanish_and_chinese(pizzeria):
    assert ("modifier", "top-onions", "cebolla") in _found(pizzeria, "sin cebolla", "es")
    assert ("variation", "pizza-large", "grande") in _found(pizzeria, "una pizza grande", "es")
    zh = CatalogMatcher(pizzeria, "zh").find("两个大号披萨不要洋葱")
    assert [(m.kind, m.text.replace(" ", "")) for m in zh] == [("variation", "大号"), ("item", "披萨"), ("modifier", "洋葱")]
    # Chinese positions are characters: 大号 is the 3rd and 4th.
    assert (zh[0].start, zh[0].end) == (2, 4)


def test_accents_and_spacing_do_not_matter(pizzeria):
    assert ("modifier", "top-jalapenos", "jalapenos") in _found(pizzeria, "jalapeños please")
    m = CatalogMatcher(pizzeria).find("add pine apple")
    assert [(x.modifier_id, x.exact) for x in m] == [("top-pineapple", True)]


def test_misheard_words_match_with_a_lower_score(pizzeria):
    [pep] = CatalogMatcher(pizzeria).find("pepperony")
    assert pep.modifier_id == "top-pepperoni" and not pep.exact and 0.85 <= pep.score < 1
    [jal] = CatalogMatcher(pizzeria).find("halapenos")
    assert jal.modifier_id == "top-jalapenos" and not jal.exact
    # Sounds like "pizza" but spelled far from it: found, and flagged for a read-back.
    [pie] = CatalogMatcher(pizzeria).find("peeza")
    assert pie.item_id == "pizza" and pie.low_confidence


def test_ordinary_words_never_match_the_menu(pizzeria):
    assert CatalogMatcher(pizzeria).find("hi can i get something for pickup tonight thanks") == []


def test_matcher_is_built_once_per_catalog():
    first = catalog_from_data(PIZZERIA)
    assert matcher_for(first) is matcher_for(first)
    assert matcher_for(first, "es") is not matcher_for(first, "en")
    refreshed = first.with_availability({"top-ham": False})
    assert matcher_for(refreshed) is not matcher_for(first)
    [ham] = matcher_for(refreshed).find("ham")
    assert ham.candidates[0].available is False


def test_tokens_keep_contractions_and_split_hyphens():
    assert tokenize("I'd like a 7-Up, NO ice") == ["i'd", "like", "a", "7", "up", "no", "ice"]
