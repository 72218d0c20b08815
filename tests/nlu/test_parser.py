"""The order parser on phrases callers really say, against the pizzeria and taqueria of conftest."""

from __future__ import annotations

import pytest

from agi.catalog import catalog_from_data
from agi.dialogue.parser import ParseResult, parse_order
from agi.tickets import Qualifier, Ticket, price_ticket

from .conftest import PIZZERIA


def lines(result: ParseResult) -> list[tuple]:
    """(quantity, item, size, {option: qualifier}) per line, in order."""
    return [
        (p.line.quantity, p.line.catalog_id, p.line.variation_id, {m.catalog_id: m.qualifier.value for m in p.line.modifiers})
        for p in result.lines
    ]


# ------------------------------------------------------------------ quantities


@pytest.mark.parametrize(
    "text, qty",
    [
        ("a coke", 1), ("an order of garlic knots", 1), ("one coke", 1), ("two cokes", 2), ("2 cokes", 2),
        ("a couple of cokes", 2), ("half a dozen garlic knots", 6), ("a dozen wings", 12), ("twelve wings", 12),
        ("just one coke please", 1),
    ],
)
def test_quantities(pizzeria, text, qty):
    assert [p.line.quantity for p in parse_order(text, pizzeria).lines] == [qty]


def test_quantity_words_that_describe_not_count(pizzeria):
    # "two topping" says what kind of pizza, not how many.
    assert lines(parse_order("one large two topping pizza with ham and pineapple", pizzeria)) == [
        (1, "pizza", "pizza-large", {"top-ham": "normal", "top-pineapple": "normal"})
    ]


# ------------------------------------------------------------------ items, sizes, several lines


def test_several_items_sizes_and_options_in_one_breath(pizzeria):
    result = parse_order("I'd like two large pepperoni pizzas, a small pizza with mushrooms and three cokes", pizzeria)
    assert lines(result) == [
        (2, "pizza", "pizza-large", {"top-pepperoni": "normal"}),
        (1, "pizza", "pizza-small", {"top-mushrooms": "normal"}),
        (3, "coke", None, {}),
    ]
    assert not result.needs_confirmation


def test_size_said_after_the_item(pizzeria):
    assert lines(parse_order("a pizza in large size with ham", pizzeria)) == [
        (1, "pizza", "pizza-large", {"top-ham": "normal"})
    ]


def test_synonyms_and_plurals(pizzeria):
    assert lines(parse_order("two medium pies with bell peppers and olives", pizzeria)) == [
        (2, "pizza", "pizza-medium", {"top-peppers": "normal", "top-olives": "normal"})
    ]


def test_options_go_to_the_item_that_takes_them(pizzeria):
    result = parse_order("a large pizza and wings with barbecue sauce and ranch, and a coke with extra cheese", pizzeria)
    assert lines(result) == [
        # cheese is said last, after the coke, but only the pizza takes it
        (1, "pizza", "pizza-large", {"top-cheese": "extra"}),
        (1, "wings", None, {"sauce-bbq": "normal", "dip-ranch": "normal"}),
        (1, "coke", None, {}),
    ]


def test_size_before_a_later_item_is_not_for_the_earlier_one(pizzeria):
    # cokes have no sizes on this menu: "large" must not land on the pizza either
    assert lines(parse_order("a pizza with ham and a large coke", pizzeria)) == [
        (1, "pizza", None, {"top-ham": "normal"}),
        (1, "coke", None, {}),
    ]
    assert lines(parse_order("wings and a large pizza with ham", pizzeria)) == [
        (1, "wings", None, {}),
        (1, "pizza", "pizza-large", {"top-ham": "normal"}),
    ]


def test_one_order_shared_out(taqueria):
    assert lines(parse_order("three street tacos, one asada and two pastor", taqueria)) == [
        (1, "taco", None, {"fill-asada": "normal"}),
        (2, "taco", None, {"fill-pastor": "normal"}),
    ]


def test_a_small_one(pizzeria):
    assert lines(parse_order("a large pizza with ham and a small one with pineapple", pizzeria)) == [
        (1, "pizza", "pizza-large", {"top-ham": "normal"}),
        (1, "pizza", "pizza-small", {"top-pineapple": "normal"}),
    ]


# ------------------------------------------------------------------ negation, amounts, swaps, sides


@pytest.mark.parametrize(
    "text",
    [
        "a pizza with no onions", "a pizza without onions", "a pizza, hold the onions", "a pizza with ham but not onions",
        "a pizza with ham and i don't want any onions on it", "a pizza, leave off the onions", "a pizza minus the onions",
    ],
)
def test_negation(pizzeria, text):
    [line] = parse_order(text, pizzeria).lines
    assert {m.catalog_id: m.qualifier for m in line.line.modifiers}["top-onions"] is Qualifier.NO


def test_negation_covers_only_what_it_names(pizzeria):
    assert lines(parse_order("a pizza with no onions, mushrooms and olives", pizzeria)) == [
        (1, "pizza", None, {"top-onions": "no", "top-mushrooms": "normal", "top-olives": "normal"})
    ]
    assert lines(parse_order("a pizza without onions or olives", pizzeria)) == [
        (1, "pizza", None, {"top-onions": "no", "top-olives": "no"})
    ]


def test_no_extra_is_not_no(pizzeria):
    [line] = parse_order("a pizza with ham and no extra cheese", pizzeria).lines
    assert {m.catalog_id for m in line.line.modifiers} == {"top-ham"}
    assert [(d.catalog_id, d.qualifier) for d in line.declined] == [("top-cheese", Qualifier.EXTRA)]


@pytest.mark.parametrize(
    "text, qualifier",
    [
        ("extra cheese", "extra"), ("double cheese", "extra"), ("a lot of cheese", "extra"), ("more cheese", "extra"),
        ("light cheese", "light"), ("easy on the cheese", "light"), ("a little bit of cheese", "light"),
        ("not too much cheese", "light"),
    ],
)
def test_amounts(pizzeria, text, qualifier):
    assert lines(parse_order(f"a pizza with {text}", pizzeria)) == [(1, "pizza", None, {"top-cheese": qualifier})]


@pytest.mark.parametrize(
    "text",
    [
        "a burrito, swap the rice for lettuce", "a burrito with lettuce instead of rice",
        "a burrito, substitute lettuce for the white rice", "a burrito, replace the rice with lettuce",
        "a burrito with lettuce in place of the rice",
    ],
)
def test_swaps(taqueria, text):
    [line] = parse_order(text, taqueria).lines
    assert [(m.catalog_id, m.qualifier, m.replaces) for m in line.line.modifiers] == [
        ("base-lettuce", Qualifier.SWAP, "base-white")
    ]


def test_a_one_choice_group_named_for_its_default(taqueria):
    # "beans" is the group; on this menu it means the default, black beans.
    assert lines(parse_order("a burrito with steak and no beans", taqueria)) == [
        (1, "burrito", None, {"fill-asada": "normal", "beans-black": "no"})
    ]


def test_on_the_side(pizzeria):
    assert lines(parse_order("wings with ranch on the side", pizzeria)) == [(1, "wings", None, {"dip-ranch": "on_the_side"})]


def test_a_side_of_is_an_item(taqueria):
    assert lines(parse_order("a chicken bowl and a side of chips and guac", taqueria)) == [
        (1, "bowl", None, {"fill-chicken": "normal"}),
        (1, "chips-guac", None, {}),
    ]


def test_nested_option_groups(taqueria):
    assert lines(parse_order("a burrito with carnitas, make it a meal with horchata", taqueria)) == [
        (1, "burrito", None, {"fill-carnitas": "normal", "meal-yes": "normal", "meal-horchata": "normal"})
    ]
    # the same word alone is the drink on its own
    assert lines(parse_order("and a horchata", taqueria)) == [(1, "horchata", None, {})]


def test_make_it(pizzeria):
    assert lines(parse_order("a small pizza with ham, actually make it a large", pizzeria)) == [
        (1, "pizza", "pizza-large", {"top-ham": "normal"})
    ]


# ------------------------------------------------------------------ no item named


def test_options_alone_name_the_only_item_that_takes_them(pizzeria):
    [line] = parse_order("one large with pineapple and extra cheese", pizzeria).lines
    assert (line.line.catalog_id, line.line.variation_id, line.inferred_item) == ("pizza", "pizza-large", True)


def test_options_that_fit_several_items_are_a_question(taqueria):
    result = parse_order("one with steak and brown rice", taqueria)
    assert result.lines == []
    [partial] = result.partial
    assert set(partial.candidates) == {"burrito", "bowl"}
    assert [m.catalog_id for m in partial.modifiers] == ["fill-asada", "base-brown"]


def test_a_category_word_and_options_that_make_a_name():
    catalog = catalog_from_data(
        {
            "modifier_groups": [{"id": "t", "name": "toppings", "options": [{"id": "pep", "name": "pepperoni"}]}],
            "items": [
                {"id": "cheese-pizza", "name": "cheese pizza", "names": {"es": "pizza de queso"}, "category": "pizza",
                 "price": 1000, "modifier_groups": ["t"]},
                {"id": "pep-pizza", "name": "pepperoni pizza", "names": {"es": "pizza de pepperoni"}, "category": "pizza",
                 "price": 1200, "modifier_groups": ["t"]},
            ],
        }
    )
    for text, lang in (("una pizza de pepperoni", "es"), ("a pizza with pepperoni", "en")):
        assert lines(parse_order(text, catalog, lang)) == [(1, "pep-pizza", None, {})]


def _named_pizzas():
    toppings = [{"id": t, "name": t} for t in ("pepperoni", "mushrooms", "sausage")]
    sizes = [{"id": "lg", "name": "large", "price": 1500}, {"id": "sm", "name": "small", "price": 1000}]
    pizzas = [("cheese-pizza", "cheese pizza"), ("pep-pizza", "pepperoni pizza"),
              ("pep-sausage", "pepperoni and sausage pizza")]
    return catalog_from_data(
        {
            "modifier_groups": [{"id": "t", "name": "toppings", "max": 5, "options": toppings}],
            "items": [{"id": i, "name": n, "category": "pizza", "variations": sizes, "modifier_groups": ["t"]}
                      for i, n in pizzas],
        }
    )


def test_a_topping_word_that_sets_one_pizza_apart_names_it():
    catalog = _named_pizzas()
    # "pepperoni" is a topping of every pizza and all "pepperoni pizza" has beyond "pizza"
    assert lines(parse_order("a pepperoni please", catalog)) == [(1, "pep-pizza", None, {})]
    assert lines(parse_order("two large pepperoni with mushrooms", catalog)) == [
        (2, "pep-pizza", "lg", {"mushrooms": "normal"})
    ]
    assert lines(parse_order("a pepperoni and sausage", catalog)) == [(1, "pep-sausage", None, {})]
    # a topping that is no pizza's own name still asks which pizza
    result = parse_order("a large with mushrooms", catalog)
    assert result.lines == [] and len(result.partial[0].candidates) == 3


def test_a_large_one_with_options_is_one_line_that_asks_which():
    result = parse_order("a large one with mushrooms for pickup", _named_pizzas())
    assert result.lines == []
    [partial] = result.partial
    assert (partial.variation_name, [m.catalog_id for m in partial.modifiers]) == ("large", ["mushrooms"])


# ------------------------------------------------------------------ speech recognition slips


def test_misheard_words_are_flagged(pizzeria):
    result = parse_order("a large peeza with pepperony", pizzeria)
    assert lines(result) == [(1, "pizza", "pizza-large", {"top-pepperoni": "normal"})]
    [line] = result.lines
    assert line.needs_confirmation and line.confidence < 0.85


def test_exact_words_are_not_flagged(pizzeria):
    [line] = parse_order("a large pizza with pepperoni", pizzeria).lines
    assert line.confidence == 1.0 and not line.needs_confirmation


# ------------------------------------------------------------------ out of stock


def test_unavailable_item_is_reported_not_dropped(pizzeria):
    result = parse_order("two calzones and a coke", pizzeria)
    assert lines(result) == [(1, "coke", None, {})]
    [out] = result.unavailable
    assert (out.kind, out.catalog_id, out.quantity) == ("item", "calzone", 2)


def test_unavailable_size_and_option_are_reported(pizzeria):
    result = parse_order("a party size pizza with anchovies and ham", pizzeria)
    assert lines(result) == [(1, "pizza", None, {"top-ham": "normal"})]
    assert {(u.kind, u.catalog_id, u.on_item) for u in result.unavailable} == {
        ("variation", "pizza-party", "pizza"),
        ("modifier", "top-anchovies", "pizza"),
    }
    assert result.lines[0].needs_confirmation


def test_availability_changes_take_effect(pizzeria):
    out_of_ham = pizzeria.with_availability({"top-ham": False})
    result = parse_order("a pizza with ham", out_of_ham)
    assert [u.catalog_id for u in result.unavailable] == ["top-ham"]
    assert lines(parse_order("a pizza with ham", pizzeria)) == [(1, "pizza", None, {"top-ham": "normal"})]


def test_hold_a_pizza_is_no_negation(pizzeria):
    # "hold the onions" refuses an option; "hold a pizza for me" asks to keep one.
    assert lines(parse_order("can you hold a large pizza for me, hold the onions", pizzeria)) == [
        (1, "pizza", "pizza-large", {"top-onions": "no"})
    ]


def test_refused_items_are_not_ordered(pizzeria):
    result = parse_order("a large pizza and no drinks, i don't want a coke", pizzeria)
    assert lines(result) == [(1, "pizza", "pizza-large", {})]
    assert result.not_ordered == ["coke"]


# ------------------------------------------------------------------ Spanish and Chinese


def test_spanish(pizzeria, taqueria):
    assert lines(parse_order("una pizza grande con jamón y piña, sin cebolla, y dos coca colas", pizzeria, "es")) == [
        (1, "pizza", "pizza-large", {"top-ham": "normal", "top-pineapple": "normal", "top-onions": "no"}),
        (2, "coke", None, {}),
    ]
    assert lines(parse_order("un burrito de carnitas sin frijoles y con lechuga en vez de arroz", taqueria, "es")) == [
        (1, "burrito", None, {"fill-carnitas": "normal", "beans-black": "no", "base-lettuce": "swap"})
    ]


def test_chinese(pizzeria, taqueria):
    assert lines(parse_order("两个大号披萨，不要洋葱，少放奶酪", pizzeria, "zh")) == [
        (2, "pizza", "pizza-large", {"top-onions": "no", "top-cheese": "light"})
    ]
    [line] = parse_order("一个卷饼碗，白米饭换成生菜，多加鳄梨酱", taqueria, "zh").lines
    assert [(m.catalog_id, m.qualifier.value, m.replaces) for m in line.line.modifiers] == [
        ("base-lettuce", "swap", "base-white"),
        ("x-guac", "extra", None),
    ]


# ------------------------------------------------------------------ contract


def test_prices_come_from_the_catalog(pizzeria):
    result = parse_order("two large pizzas with extra pepperoni and no onions", pizzeria)
    ticket = price_ticket(Ticket(items=[p.line for p in result.lines]), pizzeria)
    # 2 x (1499 + 2 x 150 for extra pepperoni + 0 for no onions)
    assert ticket.total_minor == 2 * (1499 + 300)


def test_deterministic_and_safe_on_any_input(pizzeria):
    text = "two large pizzas with extra cheese and a coke"
    assert lines(parse_order(text, pizzeria)) == lines(parse_order(text, pizzeria))
    for junk in ("", "   ", "???", "uh um", "pizza " * 200, "🍕🍕", "\x00\x01"):
        assert isinstance(parse_order(junk, pizzeria), ParseResult)


def test_no_menu_word_in_the_parser():
    """Everything the parser knows about a business comes from its catalog."""
    other = catalog_from_data(
        {"modifier_groups": [{"id": "g", "name": "glaze", "options": [{"id": "honey", "name": "honey glaze"}]}],
         "items": [{"id": "ham", "name": "spiral ham", "synonyms": ["holiday ham"], "price": 4999,
                    "modifier_groups": ["g"]}]}
    )
    assert lines(parse_order("two holiday hams with extra honey glaze", other)) == [(2, "ham", None, {"honey": "extra"})]
    assert parse_order("two large pepperoni pizzas", other).lines == []


def test_catalog_from_conftest_is_valid():
    assert catalog_from_data(PIZZERIA).item("pizza") is not None
