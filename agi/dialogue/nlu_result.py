"""What the order parser returns: lines it is sure of, lines to confirm, and what it could not place."""

from __future__ import annotations

from dataclasses import dataclass, field

from agi.tickets import LineModifier, OrderLine


@dataclass(slots=True)
class ParsedLine:
    """One order line as understood, with how sure the parser is."""

    line: OrderLine
    confidence: float
    needs_confirmation: bool
    declined: list[LineModifier] = field(default_factory=list)  # "no extra cheese": extras not wanted
    inferred_item: bool = False  # the item was not named, only options that fit nothing else
    text: str = ""
    count_unsaid: bool = False  # "pepperoni pizzas": more than one, with no number said
    pieces: int | None = None  # "half a dozen wings" of wings ten to an order: no whole number of packs, ask


@dataclass(slots=True)
class Unavailable:
    """Something the caller asked for that the catalog marks out of stock (86'd)."""

    kind: str  # "item" | "variation" | "modifier"
    catalog_id: str  # the id of what is out: item, size or option
    name: str
    item_id: str | None = None  # set for kind "item" only: the item that is out
    on_item: str | None = None  # for a size or option: the item it was asked on
    quantity: int = 1
    text: str = ""
    # For an item: the size and options said with it, which an alternative offered keeps where it takes them.
    variation_name: str | None = None
    modifiers: list[LineModifier] = field(default_factory=list)


@dataclass(slots=True)
class PartialLine:
    """A quantity, size or options said with no item they single out ("a large decaf with vanilla"):
    the dialogue asks which of `candidates` was meant."""

    candidates: list[str]  # item ids that take everything said
    quantity: int
    variation_name: str | None
    modifiers: list[LineModifier]
    text: str = ""


@dataclass(slots=True)
class ParseResult:
    lines: list[ParsedLine] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    partial: list[PartialLine] = field(default_factory=list)  # said without naming one item: ask which
    unmatched_text: str = ""  # unknown words that may be menu words nobody recognised ("the zorba special")
    not_ordered: list[str] = field(default_factory=list)  # items said but refused or replaced ("no drinks")
    tokens: list[str] = field(default_factory=list)

    @property
    def needs_confirmation(self) -> bool:
        return any(p.needs_confirmation for p in self.lines)
