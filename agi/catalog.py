"""The POS-neutral catalog: what a business sells, at what price, and what is 86'd.

Every POS adapter normalises its vendor's menu into these models, and the local
POS reads them from a YAML file. Money is integer minor units of
`Catalog.currency`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from agi.yamlconf import ConfigError, check_refs, load_model, read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Named(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    names: dict[str, str] = Field(default_factory=dict, description="name per language code")
    synonyms: list[str] = Field(default_factory=list, description="other spoken forms, any language")
    available: bool = True

    def display_name(self, language: str = "en") -> str:
        return self.names.get(language, self.name)

    def spoken_forms(self) -> list[str]:
        return [self.name, *self.names.values(), *self.synonyms]


class Modifier(_Named):
    """One option of a modifier group (a topping, a milk, a side)."""

    price_delta: int = 0
    default: bool = Field(False, description="included unless the caller says 'no ...'")
    groups: list[str] = Field(default_factory=list, description="nested modifier groups this option opens")


class ModifierGroup(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    names: dict[str, str] = Field(default_factory=dict)
    min: int = Field(0, ge=0)
    max: int | None = Field(None, ge=1, description="None: no upper limit")
    options: list[Modifier] = Field(min_length=1)

    @field_validator("max")
    @classmethod
    def _min_le_max(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min", 0)
        if value is not None and low > value:
            raise ValueError(f"min ({low}) is greater than max ({value})")
        return value

    @property
    def required(self) -> bool:
        return self.min > 0

    def display_name(self, language: str = "en") -> str:
        return self.names.get(language, self.name)


class Variation(_Named):
    """A sellable form of an item (a size); carries the price."""

    price: int = Field(ge=0)


class Item(_Named):
    category: str = ""
    description: str = ""
    price: int | None = Field(None, ge=0, description="price when the item has no variations")
    variations: list[Variation] = Field(default_factory=list)
    default_variation: str | None = None
    modifier_groups: list[str] = Field(default_factory=list)
    duration_min: int | None = Field(None, ge=1, description="for services: how long a booking takes")
    pack_size: int | None = Field(
        None, ge=2, description="pieces one unit holds (ten wings to an order, a four pack): a count said in "
        "pieces ('twenty wings') is rung up in units"
    )
    capacity: int | None = Field(None, ge=1, description="for rooms and tables: the most guests one holds")

    @model_validator(mode="after")
    def _priced(self) -> "Item":
        if self.price is None and not self.variations:
            raise ValueError("needs a price or at least one variation")
        if self.default_variation and self.default_variation not in {v.id for v in self.variations}:
            raise ValueError(f"default_variation '{self.default_variation}' is not one of its variations")
        return self

    def variation(self, variation_id: str | None) -> Variation | None:
        for v in self.variations:
            if v.id == variation_id:
                return v
        return None

    def base_price(self, variation_id: str | None = None) -> int:
        v = self.variation(variation_id or self.default_variation)
        if v is not None:
            return v.price
        if self.price is not None:
            return self.price
        return min(v.price for v in self.variations)


class Catalog(_Strict):
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    version: str = ""
    modifier_groups: list[ModifierGroup] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)

    @field_validator("items")
    @classmethod
    def _not_empty(cls, items: list[Item]) -> list[Item]:
        if not items:
            raise ValueError("a catalog needs at least one item")
        return items

    # Frozen models may still cache derived lookups: they never go stale.
    @cached_property
    def _items(self) -> dict[str, Item]:
        return {i.id: i for i in self.items}

    @cached_property
    def _groups(self) -> dict[str, ModifierGroup]:
        return {g.id: g for g in self.modifier_groups}

    def item(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def group(self, group_id: str) -> ModifierGroup | None:
        return self._groups.get(group_id)

    def groups_of(self, item: Item) -> list[ModifierGroup]:
        """The item's modifier groups, nested groups of its options included."""
        seen: dict[str, ModifierGroup] = {}
        stack = list(item.modifier_groups)
        while stack:
            gid = stack.pop(0)
            g = self._groups.get(gid)
            if g is None or gid in seen:
                continue
            seen[gid] = g
            for opt in g.options:
                stack.extend(opt.groups)
        return list(seen.values())

    def modifier(self, item: Item, modifier_id: str) -> tuple[ModifierGroup, Modifier] | None:
        for g in self.groups_of(item):
            for m in g.options:
                if m.id == modifier_id:
                    return g, m
        return None

    def is_available(self, item_id: str, variation_id: str | None = None) -> bool:
        item = self.item(item_id)
        if item is None or not item.available:
            return False
        if variation_id:
            v = item.variation(variation_id)
            return v is not None and v.available
        return True

    def with_availability(self, changes: dict[str, bool]) -> "Catalog":
        """A copy with items, variations or modifiers (by id) marked in or out of stock."""
        data = self.model_dump()
        for item in data["items"]:
            item["available"] = changes.get(item["id"], item["available"])
            for v in item["variations"]:
                v["available"] = changes.get(v["id"], v["available"])
        for group in data["modifier_groups"]:
            for m in group["options"]:
                m["available"] = changes.get(m["id"], m["available"])
        return Catalog.model_validate(data)

    def ids(self) -> Iterator[str]:
        for item in self.items:
            yield item.id
            yield from (v.id for v in item.variations)
        for g in self.modifier_groups:
            yield g.id
            yield from (m.id for m in g.options)


def reference_problems(catalog: Catalog) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references a schema cannot check: missing groups, duplicate ids."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    group_ids = {g.id for g in catalog.modifier_groups}
    seen: dict[str, str] = {}

    def claim(id_: str, loc: tuple[str | int, ...]) -> None:
        if id_ in seen:
            out.append((loc + ("id",), f"duplicate id '{id_}' (first used at {seen[id_]})"))
        else:
            seen[id_] = ".".join(str(p) for p in loc)

    for gi, g in enumerate(catalog.modifier_groups):
        claim(g.id, ("modifier_groups", gi))
        for oi, m in enumerate(g.options):
            claim(m.id, ("modifier_groups", gi, "options", oi))
            for ni, nested in enumerate(m.groups):
                if nested not in group_ids:
                    out.append((("modifier_groups", gi, "options", oi, "groups", ni), f"unknown modifier group '{nested}'"))
    for ii, item in enumerate(catalog.items):
        claim(item.id, ("items", ii))
        for vi, v in enumerate(item.variations):
            claim(v.id, ("items", ii, "variations", vi))
        for gi, gid in enumerate(item.modifier_groups):
            if gid not in group_ids:
                out.append((("items", ii, "modifier_groups", gi), f"unknown modifier group '{gid}'"))
    return out


def load_catalog(path: str | Path) -> Catalog:
    """Read a local catalog YAML file; ConfigError names file, line and field."""
    catalog = load_model(path, Catalog)
    refs = reference_problems(catalog)
    if refs:
        raise ConfigError(check_refs(path, read_yaml(path), refs))
    return catalog


def catalog_from_data(data: Any) -> Catalog:
    """Build a catalog from already-parsed data (adapters, benchmarks)."""
    return Catalog.model_validate(data)
