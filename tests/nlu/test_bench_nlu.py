"""The `bench nlu` harness: menus to catalogs, parses to EXR trees, the authors' metric.

Most tests build a tiny venue of their own in a temporary folder (the public
datasets are CC BY-NC and never copied here); the last ones run the real
harness on a few lines of ../shared/benchmarks when it is there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agi.cli import main
from bench.datasets import canonical, entity_tree, exact_match, food_venue, load, parse_exr
from bench.nlu import evaluate

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
needs_data = pytest.mark.skipif(
    not (SHARED / "pizza" / "PIZZA_dev.json").exists(),
    reason=f"public benchmark data not found at {SHARED} (CI has it beside the checkout)",
)


def test_exr_trees_compare_without_sibling_order():
    a = parse_exr("(ORDER (PIZZAORDER (NUMBER 1 ) (TOPPING HAM ) (SIZE LARGE ) ) (DRINKORDER (NUMBER 2 ) ) )")
    b = parse_exr("(ORDER (DRINKORDER (NUMBER 2 ) ) (PIZZAORDER (SIZE LARGE ) (NUMBER 1 ) (TOPPING HAM ) ) )")
    c = parse_exr("(ORDER (PIZZAORDER (NUMBER 1 ) (TOPPING HAM ) ) (DRINKORDER (NUMBER 2 ) ) )")
    assert exact_match(a, b)
    assert not exact_match(a, c)
    assert not exact_match((), b)  # nothing parsed is wrong
    assert canonical(("X", "b", "a")) == ("X", "a", "b")


def test_exr_errors():
    with pytest.raises(ValueError):
        parse_exr("(ORDER (PIZZAORDER (NUMBER 1 )")
    with pytest.raises(ValueError):
        parse_exr("(ORDER (NOT ) )")


@pytest.mark.parametrize(
    "entity, tree",
    [
        ("size(SMALL)", ("SIZE", "SMALL")),
        ("TOPPING(Or(black_beans,pinto_beans))", ("TOPPING", ("OR", "black_beans", "pinto_beans"))),
        ("volume(2,LITER)", ("VOLUME", "2", "LITER")),
        (" quantity(extra)", ("QUANTITY", "extra")),
    ],
)
def test_entity_trees(entity, tree):
    assert entity_tree(entity) == tree


@pytest.fixture
def tiny_venue(tmp_path: Path) -> Path:
    """A made-up food-ordering venue: bowls with proteins and sauces, drinks with sizes, sides."""
    root = tmp_path / "food-ordering" / "poke"
    (root / "alias").mkdir(parents=True)
    files = {
        "proteins.txt": "tuna\tPROTEIN(tuna)\nahi\tPROTEIN(tuna)\nsalmon\tPROTEIN(salmon)\ntofu\tPROTEIN(tofu)\n",
        "sauces.txt": "spicy mayo\tSAUCE(spicy_mayo)\nponzu\tSAUCE(ponzu)\neel sauce\tSAUCE(eel)\n",
        "drinks.txt": "iced tea\tDRINK_TYPE(iced_tea)\nlemonade\tDRINK_TYPE(lemonade)\n",
        "sides.txt": "seaweed salad\tSIDE_TYPE(seaweed)\nmiso soup\tSIDE_TYPE(miso)\n",
        "sizes.txt": "small\tSIZE(small)\nlarge\tSIZE(large)\nregular\tSIZE(regular)\n",
    }
    for name, text in files.items():
        (root / "alias" / name).write_text(text)
    schema = {
        "intents": [
            {"name": "BOWL_ORDER", "entityNames": ["bowl", "bowls"], "slots": [
                {"slotName": "PROTEIN", "path": "alias/proteins.txt"}, {"slotName": "SAUCE", "path": "alias/sauces.txt"},
                {"slotName": "NUMBER", "path": "alias/number.txt"}]},
            {"name": "DRINK_ORDER", "entityNames": ["drink"], "slots": [
                {"slotName": "DRINK_TYPE", "path": "alias/drinks.txt"}, {"slotName": "SIZE", "path": "alias/sizes.txt"}]},
            {"name": "SIDE_ORDER", "entityNames": ["side of"], "slots": [
                {"slotName": "SIDE_TYPE", "path": "alias/sides.txt"}]},
        ]
    }
    (root / "schema.json").write_text(json.dumps(schema))
    return tmp_path


def test_a_venue_becomes_a_catalog_and_parses_render_as_exr(tiny_venue: Path):
    venue = food_venue(tiny_venue, "poke")
    bowl = venue.catalog.item("bowl_order")
    assert bowl is not None and bowl.modifier_groups  # named by the order type, options from its slots
    drinks = [i for i in venue.catalog.items if i.category == "drink"]
    assert {v.name for v in drinks[0].variations} >= {"small", "large"}

    from agi.dialogue.parser import parse_order

    said = "two ahi bowls with no spicy mayo and extra ponzu and a large lemonade and a side of miso soup"
    got = venue.render(parse_order(said, venue.catalog))
    gold = parse_exr(
        "(BOWL_ORDER (NUMBER 2 ) (PROTEIN tuna ) (NOT (SAUCE spicy_mayo ) ) (COMPLEX (QUANTITY extra ) (SAUCE ponzu ) ) )"
        " (DRINK_ORDER (NUMBER 1 ) (SIZE large ) (DRINK_TYPE lemonade ) ) (SIDE_ORDER (NUMBER 1 ) (SIDE_TYPE miso ) )"
    )
    assert exact_match(got, gold)


def test_cli_reports_a_missing_data_dir(tmp_path: Path, capsys):
    assert main(["bench", "nlu", "--dataset", "pizza-dev", "--data-dir", str(tmp_path), "--json"]) == 2
    assert "PIZZA_dev.json not found" in capsys.readouterr().err


@needs_data
def test_harness_on_a_few_dev_lines():
    venues, examples = load("food-ordering-dev", SHARED)
    assert set(venues) == {"burger", "burrito", "coffee", "pizza", "sub"}
    figures, failures = evaluate(venues, examples, limit=8)
    assert figures["n"] == 40 and set(figures["per_venue"]) == set(venues)
    assert figures["exact_match"] >= 0.8, failures
    assert 0 < figures["parse_ms_p50"] <= figures["parse_ms_p99"]


@needs_data
def test_cli_json_contract(capsys):
    code = main(["bench", "nlu", "--dataset", "pizza-dev", "--data-dir", str(SHARED), "--json", "--limit", "10"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "pizza-dev" and out["n"] == 10
    assert 0.0 <= out["exact_match"] <= 1.0
    assert list(out["per_venue"]) == ["pizza"]
    assert {"parse_ms_p50", "parse_ms_p99"} <= set(out)
