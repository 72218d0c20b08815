"""Order lines while they are being heard: what was said for each, before it is checked against the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field

from agi.dialogue.matcher import CatalogMatcher, Mention, Target
from agi.tickets import Qualifier


@dataclass(slots=True)
class Opt:
    mention: Mention
    qualifier: Qualifier = Qualifier.NORMAL
    replaces: Mention | None = None
    declined: bool = False  # "no extra X"
    quantity: int = 1  # "two shots of espresso"


@dataclass(slots=True)
class Draft:
    start: int
    qty: int | None = None
    item: Target | None = None
    item_mention: Mention | None = None
    category: str | None = None
    category_words: list[str] = field(default_factory=list)
    category_score: float = 1.0
    name_score: float | None = None  # an item named by its parts: how sure the parts were
    variation: Mention | None = None
    opts: list[Opt] = field(default_factory=list)
    end: int = 0

    @property
    def bound(self) -> bool:
        return self.item is not None

    @property
    def has_content(self) -> bool:
        return self.variation is not None or bool(self.opts) or self.item is not None


def fits(m: CatalogMatcher, draft: Draft, target: Target) -> bool:
    """Whether a size or option can belong to the line (any, while its item is not known yet)."""
    if draft.item is None:
        if target.kind == "variation" and draft.category:
            return target.item_id in m.items_by_category.get(draft.category, [])
        return True
    item_id = draft.item.item_id
    if target.kind == "variation":
        return m.size_named_like(item_id or "", target) is not None
    if target.kind == "modifier":
        return m.accepts_modifier(item_id or "", target.modifier_id or "")
    return False


def fits_any(m: CatalogMatcher, draft: Draft, mention: Mention, kinds: tuple[str, ...]) -> bool:
    return any(fits(m, draft, t) for t in mention.candidates if t.kind in kinds)


def probe(item: Target | str) -> Draft:
    """An empty line of an item, to ask what it takes."""
    target = item if isinstance(item, Target) else Target("item", item_id=item)
    return Draft(0, item=target)
