"""Numbers inside an order phrase that open no new line: part of the `_Parser` pass.

"three tacos, one asada and two pastor" shares a line out; "a latte with one
extra shot" counts an option; "a large candle, the sea salt one" names the
line being described; "do me a favor" has an article of nothing.
"""

from __future__ import annotations

from agi.dialogue.nlu_grammar import Tag
from agi.dialogue.nlu_labels import ARTICLES, Label


class CountsMixin:
    """Part of `parser._Parser`: numbers that belong to the line being described."""

    def _one_after_option(self, k: int, ev: Label) -> bool:
        """'the sea salt one': "one" right after a size or option of the line being described,
        with no menu word after it to count."""
        cur = self.cur
        if ev.text not in ("one", "ones") or cur is None or not cur.bound or k == 0:
            return False
        before = self.events[k - 1]
        if before.kind != "span" or before.mention is None:
            return False
        said = [o.mention for o in cur.opts] + ([cur.variation] if cur.variation is not None else [])
        if not any(m is before.mention for m in said):
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word"), None)
        return nxt is None or nxt.kind != "span"

    def _split(self, k: int, ev: Label) -> bool:
        """'three tacos, one asada and two pastor': part of the line just ordered, with its own options."""
        parent = self.split_parent if self.split_parent is not None else self.cur
        if parent is None or not (parent.bound or parent.category) or not parent.qty or ev.text in ARTICLES:
            return False
        if ev.value > parent.qty or (ev.value == parent.qty and parent is not self.split_parent):
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word" and not (e.kind == "tag" and e.tag is Tag.WITH)), None)
        if nxt is None or nxt.kind != "span" or nxt.mention is None or nxt.mention.of_kind("item", "category"):
            return False
        if parent.item is not None and not self._fits(parent, nxt.mention, ("modifier", "variation")):
            return False
        if self._item_ahead(k):
            return False
        child = self._new(ev.start, ev.value)
        child.item, child.item_mention, child.category = parent.item, parent.item_mention, parent.category
        child.category_words, child.category_score = list(parent.category_words), parent.category_score
        child.variation, child.opts = parent.variation, list(parent.opts)
        child.end = ev.end
        parent.qty -= ev.value
        if parent.qty == 0 and parent in self.done:
            self.done.remove(parent)
        self.split_parent = parent if parent.qty else None
        return True

    def _count_of_option(self, k: int) -> bool:
        """A number or article before an option of the item being described, with no other item coming."""
        cur = self.cur
        if cur is None or not cur.bound:
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word"), None)
        if nxt is None or nxt.kind != "span" or nxt.mention is None:
            return False
        m = nxt.mention
        if m.of_kind("item", "variation", "category") or not self._fits(cur, m, ("modifier",)):
            return False
        return not self._item_ahead(k)

    def _article_of_nothing(self, k: int) -> bool:
        """'a favor', 'a question': an article whose noun is no menu word."""
        if k + 1 >= len(self.events) or self.events[k + 1].kind != "word":
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word"), None)
        return nxt is None or nxt.kind != "span"
