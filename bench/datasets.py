"""Public food-ordering datasets as catalogs, plus their EXR trees and metric.

Reads, by path, the human-written orders of two public datasets (CC BY-NC,
never copied into this repository):

- PIZZA (amazon-science/pizza-semantic-parsing-dataset): `pizza/PIZZA_dev.json`,
  `pizza/PIZZA_test.json` and the menu in `pizza/catalogs/`.
- FOOD-ORDERING (amazon-science/food-ordering-semantic-parsing-dataset): five
  venues under `food-ordering/<venue>/` with `dev.json`, `schema.json` and the
  menu in `alias/`.

Each venue's menu files (spoken form TAB entity) become a `Catalog`, the way a
POS adapter turns a vendor menu into one:

- the product slot of an order type gives one item per entity (drink types,
  sandwiches); an order type without one is a single item named by its
  entity names (PIZZA has no schema: its pizza item takes the names the
  FOOD-ORDERING schema of the same menu lists, "pizza" and "pie");
- SIZE gives variations, with and without "size"/"sized" (the schemas'
  optionalSuffixes); every other slot gives a modifier group;
- an order type named after one of its products ("side of chips") makes the
  other products of that type options of it too (chips with queso).

Number, amount and negation words are left to the parser. The parser reads
each utterance against that catalog exactly as on a call, and its
ParseResult is written back as the dataset's EXR tree (a line whose item
could not be singled out is written without its product when all its
candidate items share one order type). Scoring is the authors' unordered
exact match: siblings in any order, anything else wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Union

from agi.catalog import Catalog, catalog_from_data
from agi.dialogue.parser import ParsedLine, ParseResult, PartialLine
from agi.tickets import OrderLine, Qualifier

Tree = Union[str, tuple]

DATASETS = ("pizza-dev", "pizza-test", "food-ordering-dev")
FOOD_VENUES = ("burger", "burrito", "coffee", "pizza", "sub")

# Slots that name the product of an order type; the others describe it.
_PRODUCT_SLOTS = ("MAIN_DISH_TYPE", "SIDE_TYPE", "DRINK_TYPE", "DRINKTYPE", "BASE_SANDWICH")
# Grammar slots: the parser knows numbers, amounts and negation itself.
_GRAMMAR_SLOTS = ("NUMBER", "QUANTITY", "NOT")
# Category word of order types with a product slot ("for my drink ...", "a sandwich with ...").
_CATEGORY = {"MAIN_DISH_ORDER": "main dish", "SIDE_ORDER": "side", "DRINK_ORDER": "drink", "DRINKORDER": "drink",
             "SANDWICH_ORDER": "sandwich"}


# ---------------------------------------------------------------------------- trees


def _exr_tokens(text: str) -> list[str]:
    return [t for t in re.split(r"([^a-zA-Z0-9._-])", text) if t and not t.isspace() and t not in (",", "\n")]


def parse_exr(text: str) -> tuple[Tree, ...]:
    """The top-level nodes of an EXR string; ValueError when brackets do not balance."""
    toks = _exr_tokens(text)
    pos = 0

    def node() -> Tree:
        nonlocal pos
        if toks[pos] != "(":
            leaf = toks[pos]
            pos += 1
            return leaf
        pos += 1
        label = toks[pos]
        pos += 1
        kids: list[Tree] = []
        while pos < len(toks) and toks[pos] != ")":
            kids.append(node())
        if pos >= len(toks):
            raise ValueError("unbalanced EXR")
        pos += 1
        if not kids:
            raise ValueError(f"empty node {label}")
        return (label, *kids)

    out: list[Tree] = []
    while pos < len(toks):
        if toks[pos] == ")":
            raise ValueError("unbalanced EXR")
        out.append(node())
    return tuple(out)


def canonical(tree: Tree) -> Tree:
    """Children sorted, so that two trees equal up to sibling order compare equal."""
    if isinstance(tree, str):
        return tree
    label, *kids = tree
    return (label, *sorted((canonical(k) for k in kids), key=repr))


def to_exr(nodes: tuple[Tree, ...] | list[Tree]) -> str:
    def one(t: Tree) -> str:
        if isinstance(t, str):
            return t
        return "(" + " ".join([t[0], *(one(k) for k in t[1:])]) + " )"

    return " ".join(one(t) for t in nodes)


def entity_tree(entity: str) -> Tree:
    """`size(SMALL)` -> (SIZE SMALL), `TOPPING(Or(a,b))` -> (TOPPING (OR a b)), as the dataset's resolver does."""
    text = entity.strip().replace(")", " )").replace("(", "( ").replace(",", " ")
    words = ["(" + w[:-1].upper() if w.endswith("(") else w for w in text.split()]
    return parse_exr(" ".join(words))[0]


# ---------------------------------------------------------------------------- venues


@dataclass
class Venue:
    """One menu as a Catalog, and how its lines are written as EXR."""

    name: str
    catalog: Catalog
    nodes: dict[str, Tree]  # catalog id -> EXR node (product, size or option)
    intent: dict[str, str]  # item id -> order type
    complex_label: str
    quantity: dict[str, Tree]  # "extra" / "light" -> (QUANTITY ..)
    wrap: str | None = None  # PIZZA wraps all orders in (ORDER ...)

    def render(self, result: ParseResult) -> tuple[Tree, ...]:
        orders = tuple(self._order(p) for p in result.lines)
        orders += tuple(o for o in (self._partial(p) for p in result.partial) if o is not None)
        if self.wrap:
            return ((self.wrap, *orders),) if orders else ()
        return orders

    def _partial(self, partial: PartialLine) -> Tree | None:
        """An order said without its product ("a large decaf with vanilla"): the order type alone, when
        every candidate item has the same one."""
        intents = {self.intent[c] for c in partial.candidates}
        if len(intents) != 1:
            return None
        first = partial.candidates[0]
        line = OrderLine(catalog_id=first, name=first, quantity=partial.quantity, modifiers=partial.modifiers)
        variation = next((v for v in self.catalog.item(first).variations if v.name == partial.variation_name), None)
        if variation is not None:
            line.variation_id = variation.id
        order = self._order(ParsedLine(line=line, confidence=0.0, needs_confirmation=True))
        return tuple(k for k in order if k != self.nodes.get(first))

    def _order(self, parsed: ParsedLine) -> Tree:
        line = parsed.line
        kids: list[Tree] = [("NUMBER", str(line.quantity))]
        if line.catalog_id in self.nodes:
            kids.append(self.nodes[line.catalog_id])
        if line.variation_id and line.variation_id in self.nodes:
            kids.append(self.nodes[line.variation_id])
        for mod in line.modifiers:
            node = self.nodes.get(mod.catalog_id)
            if node is None:
                continue
            if mod.qualifier in (Qualifier.EXTRA, Qualifier.LIGHT):
                node = (self.complex_label, self.quantity[mod.qualifier.value], node)
            elif mod.qualifier is Qualifier.NO:
                node = ("NOT", node)
            kids.append(node)
        for mod in parsed.declined:
            node = self.nodes.get(mod.catalog_id)
            if node is not None:
                kids.append(("NOT", (self.complex_label, self.quantity["extra"], node)))
        return (self.intent[line.catalog_id], *kids)


def _read_alias(path: Path) -> list[tuple[str, str]]:
    """(spoken form, entity) rows of a menu file, in file order."""
    rows = []
    if not path.exists():
        return rows
    for raw in path.read_text(encoding="utf-8").splitlines():
        if "\t" not in raw:
            continue
        form, entity = raw.split("\t", 1)
        if form.strip() and entity.strip():
            rows.append((form.strip(), entity.strip()))
    return rows


def _grouped(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    """entity -> its spoken forms, first form first."""
    out: dict[str, list[str]] = {}
    for form, entity in rows:
        forms = out.setdefault(entity, [])
        if form not in forms:
            forms.append(form)
    return out


def _size_suffixes(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sizes with and without "size"/"sized", as the schemas' optionalSuffixes allow ("lunch" = "lunch size")."""
    out = list(rows)
    for form, entity in rows:
        stem = re.sub(r"(\s*-\s*|\s+)(size|sized)$", "", form)
        variants = [stem] if stem != form else [f"{form} size", f"{form} sized"]
        out += [(v, entity) for v in variants]
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


class _CatalogBuilder:
    """Accumulates catalog data and the EXR node of every id."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.groups: dict[str, dict] = {}
        self.nodes: dict[str, Tree] = {}
        self.intent: dict[str, str] = {}

    def group(self, group_id: str, name: str, rows: list[tuple[str, str]]) -> str:
        if group_id not in self.groups:
            options = []
            for entity, forms in _grouped(rows).items():
                mod_id = f"{group_id}/{_slug(entity)}"
                options.append({"id": mod_id, "name": forms[0], "synonyms": forms[1:]})
                self.nodes[mod_id] = entity_tree(entity)
            self.groups[group_id] = {"id": group_id, "name": name, "options": options}
        return group_id

    def variations(self, item_id: str, rows: list[tuple[str, str]]) -> list[dict]:
        out = []
        for entity, forms in _grouped(_size_suffixes(rows)).items():
            var_id = f"{item_id}/{_slug(entity)}"
            out.append({"id": var_id, "name": forms[0], "synonyms": forms[1:], "price": 0})
            self.nodes[var_id] = entity_tree(entity)
        return out

    def item(self, item_id: str, names: list[str], intent: str, category: str, node: Tree | None,
             sizes: list[tuple[str, str]], groups: list[str]) -> None:
        data = {"id": item_id, "name": names[0], "synonyms": names[1:], "category": category,
                "modifier_groups": groups}
        variations = self.variations(item_id, sizes) if sizes else []
        if variations:
            data["variations"] = variations
        else:
            data["price"] = 0
        self.items.append(data)
        self.intent[item_id] = intent
        if node is not None:
            self.nodes[item_id] = node

    def catalog(self) -> Catalog:
        return catalog_from_data({"items": self.items, "modifier_groups": list(self.groups.values())})


def _base_product(intent: dict, products: list[tuple[str, str]]) -> str | None:
    """The product an order type is named after ("side of chips"), when its entity names say so."""
    forms = {f: e for f, e in products}
    for name in intent.get("entityNames") or []:
        words = name.split()
        for k in range(len(words)):
            entity = forms.get(" ".join(words[k:]))
            if entity is not None and k > 0:
                return entity
    return None


def pizza_venue(data_dir: Path) -> Venue:
    """The PIZZA menu: one pizza item (sizes; style and topping options), one item per drink."""
    cat_dir = data_dir / "pizza" / "catalogs"
    b = _CatalogBuilder()
    sizes = _read_alias(cat_dir / "size.txt")
    style = b.group("style", "style", _read_alias(cat_dir / "style.txt"))
    topping = b.group("topping", "topping", _read_alias(cat_dir / "topping.txt"))
    volume = b.group("volume", "volume", _read_alias(cat_dir / "drink_volume.txt"))
    container = b.group("container", "container", _read_alias(cat_dir / "container.txt"))
    # The order type's own words, as the FOOD-ORDERING schema of the same menu lists them.
    b.item("pizza", ["pizza", "pie"], "PIZZAORDER", "pizza", None, sizes, [style, topping])
    for entity, forms in _grouped(_read_alias(cat_dir / "drinks.txt")).items():
        b.item(f"drink/{_slug(entity)}", forms, "DRINKORDER", "drink", entity_tree(entity), sizes, [volume, container])
    quantity = {q.value: entity_tree(f"quantity({q.value.upper()})") for q in (Qualifier.EXTRA, Qualifier.LIGHT)}
    return Venue("pizza", b.catalog(), b.nodes, b.intent, "COMPLEX_TOPPING", quantity, wrap="ORDER")


def food_venue(data_dir: Path, venue: str) -> Venue:
    """A FOOD-ORDERING venue from its schema.json and alias/ files."""
    root = data_dir / "food-ordering" / venue
    schema = json.loads((root / "schema.json").read_text(encoding="utf-8"))
    b = _CatalogBuilder()
    for intent in schema["intents"]:
        name = intent["name"]
        slots = [s for s in intent["slots"] if s["slotName"] not in _GRAMMAR_SLOTS]
        product = next((s for s in slots if s["slotName"] in _PRODUCT_SLOTS), None)
        size_slot = next((s for s in slots if s["slotName"] == "SIZE"), None)
        sizes = _read_alias(root / size_slot["path"]) if size_slot else []
        groups = []
        for s in slots:
            if s is product or s is size_slot:
                continue
            rows = _read_alias(root / s["path"])
            if rows:
                groups.append(b.group(f"{s['slotName'].lower()}:{Path(s['path']).stem}", s["slotName"].lower(), rows))
        if product is not None:
            category = _CATEGORY.get(name, "")
            products = _read_alias(root / product["path"])
            base = _base_product(intent, products)
            for entity, forms in _grouped(products).items():
                extra = []
                if entity == base:
                    # "side of chips" is the order type itself: the other side types are dips for the chips.
                    dips = [(f, e) for f, e in products if e != base]
                    extra = [b.group(f"{product['slotName'].lower()}:with", product["slotName"].lower(), dips)]
                b.item(f"{name}/{_slug(entity)}", forms, name, category, entity_tree(entity), sizes, groups + extra)
        else:
            names = list(intent.get("entityNames") or [name.lower().removesuffix("_order")])
            b.item(name.lower(), names, name, "", None, sizes, groups)
    quantity = {q.value: ("QUANTITY", q.value) for q in (Qualifier.EXTRA, Qualifier.LIGHT)}
    return Venue(venue, b.catalog(), b.nodes, b.intent, "COMPLEX", quantity)


# ---------------------------------------------------------------------------- examples


@dataclass
class Example:
    venue: str
    text: str
    gold: tuple[Tree, ...]
    gold_text: str = field(repr=False, default="")


def _rows(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            raw = raw.strip()
            if raw:
                yield json.loads(raw)


def _field(row: dict, suffix: str) -> str:
    for key, value in row.items():
        if key == suffix or key.endswith("." + suffix):
            return value
    raise KeyError(suffix)


def load(dataset: str, data_dir: Path) -> tuple[dict[str, Venue], list[Example]]:
    """Venues and examples of a dataset name (see DATASETS)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
    if dataset.startswith("pizza-"):
        split = dataset.split("-", 1)[1]
        path = data_dir / "pizza" / f"PIZZA_{split}.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (--data-dir points at the benchmarks folder)")
        venue = pizza_venue(data_dir)
        examples = [
            Example("pizza", _field(r, "SRC"), parse_exr(_field(r, "EXR")), _field(r, "EXR")) for r in _rows(path)
        ]
        return {"pizza": venue}, examples
    venues: dict[str, Venue] = {}
    examples: list[Example] = []
    for name in FOOD_VENUES:
        path = data_dir / "food-ordering" / name / "dev.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (--data-dir points at the benchmarks folder)")
        venues[name] = food_venue(data_dir, name)
        examples += [Example(name, r["SRC"], parse_exr(r["EXR"]), r["EXR"]) for r in _rows(path)]
    return venues, examples


def exact_match(predicted: tuple[Tree, ...], gold: tuple[Tree, ...]) -> bool:
    """Unordered exact match of two EXR forests (an empty prediction is wrong)."""
    if not predicted:
        return False
    return sorted(map(canonical, predicted), key=repr) == sorted(map(canonical, gold), key=repr)
