"""Short answers to "which one?" pick the option by its own words, in English, Spanish and Chinese."""

from __future__ import annotations

import pytest

from agi.dialogue.choices import Choice, pick

FILLINGS = [
    Choice("chicken", ("Grilled Chicken", "pollo asado", "烤鸡肉")),
    Choice("rib", ("Braised Short Rib", "costilla", "红烧牛小排")),
    Choice("veg", ("Roasted Vegetables", "verduras asadas", "烤蔬菜")),
]


@pytest.mark.parametrize(
    "answer, picked",
    [
        ("chicken", "chicken"), ("the chicken please", "chicken"), ("the short rib", "rib"), ("short rib", "rib"),
        ("veggie please", "veg"), ("the veggies", "veg"), ("vegetarian", "veg"),
        ("pollo entonces", "chicken"), ("vegetariano por favor", "veg"), ("las verduras", "veg"),
        ("那就鸡肉吧", "chicken"), ("牛小排", "rib"), ("蔬菜的", "veg"),
    ],
)
def test_a_distinctive_word_or_usual_short_form_picks_the_option(answer, picked):
    assert pick(answer, FILLINGS) == [picked]


def test_a_menu_in_english_only_hears_the_other_languages_usual_words():
    english = [Choice(c.key, c.forms[:1]) for c in FILLINGS]
    assert pick("pollo", english) == ["chicken"]
    assert pick("鸡肉", english) == ["chicken"]


SYRUPS = [Choice("vb", ("vanilla bean",)), Choice("sf", ("sugar free vanilla",)), Choice("car", ("caramel syrup",))]


def test_a_word_two_options_share_picks_both_to_ask_between():
    assert pick("vanilla", SYRUPS) == ["vb", "sf"]
    assert pick("the sugar free one", SYRUPS) == ["sf"]
    assert pick("caramel", SYRUPS) == ["car"]


def test_a_whole_name_beats_a_shared_word():
    milks = [Choice("whole", ("whole milk", "regular milk")), Choice("oat", ("oat milk",)),
             Choice("skim", ("skim milk",))]
    assert pick("regular milk please", milks) == ["whole"]
    assert pick("oat", milks) == ["oat"]
    assert pick("milk", milks) == ["whole", "oat", "skim"]  # a word every option has: asked again


@pytest.mark.parametrize("answer", ["yes", "that's all", "what do you have?", ""])
def test_words_that_name_no_option_pick_none(answer):
    assert pick(answer, FILLINGS) == []


def test_sizes_by_a_usual_word():
    sizes = [Choice("s", ("small", "chico")), Choice("m", ("medium", "mediano")), Choice("l", ("large", "grande"))]
    assert pick("a big one", sizes) == ["l"]
    assert pick("大的", sizes) == ["l"]
    assert pick("la mediana", sizes) == ["m"]
