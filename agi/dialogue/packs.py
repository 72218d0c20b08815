"""Items sold by the pack: a count said in pieces is rung up in packs.

Wings sold ten to an order (`Item.pack_size: 10`): "twenty wings" is two
orders, "a dozen light bulbs" of a four pack is three packs. A count that is
no whole number of packs ("half a dozen wings") is not rounded silently: the
line is rung up with enough packs to hold it and the dialogue asks how many.

A count is in packs, not pieces, when a word of packaging is said with it
("two orders of wings", "two battery packs", "dos paquetes", "两份"), and a
count of one is always one pack ("a pack of batteries", "one churros").
"""

from __future__ import annotations

from collections.abc import Iterable

from agi.catalog import Item
from agi.dialogue.nlu_text import tokenize

# Words that count packs, not pieces: "orders of", "packs", "paquetes", "份".
UNIT_WORDS = frozenset(
    """order orders pack packs packet packets box boxes bag bags case cases set sets serving servings portion
    portions basket baskets tray trays bundle bundles carton cartons orden ordenes pedido pedidos paquete paquetes
    caja cajas bolsa bolsas porcion porciones charola charolas 份 包 盒 袋 箱 套 组 装""".split()
)
# Of those, the words that make an item a pack in its own name ("batteries eight pack", "四只装").
_PACK_NAMES = frozenset({"pack", "packs", "packet", "paquete", "paquetes", "装", "包"})


def in_packs(item: Item, count: int, said: Iterable[str]) -> tuple[int, int | None]:
    """(packs to ring up, pieces left to ask about or None) for `count` said with the words `said`:
    for wings ten to an order, "twenty wings" is (2, None) and "half a dozen wings" (1, 6)."""
    size = item.pack_size
    if not size or count < 2 or any(word in UNIT_WORDS for word in said):
        return count, None
    if count % size == 0:
        return count // size, None
    return -(-count // size), count


def sold_as_packs(item: Item) -> bool:
    """Whether the item's own name says pack ("LED light bulbs four pack"), else it is sold by the order."""
    return any(word in _PACK_NAMES for form in item.spoken_forms() for word in tokenize(form))
