"""Rules-first order parser: an utterance and a catalog in, order lines out.

    >>> parse_order("two large pepperoni pizzas, one with no onions, and a coke", catalog)

The words are first labelled (`nlu_labels`): menu names from the catalog,
quantities (`numbers`) and the grammar words of `nlu_grammar` ("hold the",
"extra", "instead of"). A left-to-right pass then builds lines: a quantity
opens a line, sizes and options said before the item wait for it ("a large
onion and pepper pizza"), options said after it attach to it, or to the
earlier line that can take them ("a pizza and a coke with extra cheese"), or
to the item that follows ("a coke and large fries"). `nlu_build` then checks
each line against the catalog.

Nothing here knows a menu word: everything about the business comes from its
Catalog. Deterministic, no I/O; the matcher is built once per catalog.
"""

from __future__ import annotations

from agi.catalog import Catalog
from agi.dialogue.matcher import (
    CONFIRM_BELOW,
    CatalogMatcher,
    Mention,
    Target,
    matcher_for,
)
from agi.dialogue.nlu_build import Builder
from agi.dialogue.nlu_counts import CountsMixin
from agi.dialogue.nlu_drafts import Draft, Opt, fits_any, probe
from agi.dialogue.nlu_grammar import ADDING, Tag
from agi.dialogue.nlu_labels import ARTICLES, Label, label_tokens
from agi.dialogue.nlu_result import ParsedLine, ParseResult, PartialLine, Unavailable
from agi.dialogue.nlu_swaps import SwapsMixin
from agi.dialogue.nlu_text import tokenize
from agi.tickets import Qualifier

__all__ = ["ParsedLine", "ParseResult", "PartialLine", "Unavailable", "parse_order"]


class _Parser(CountsMixin, SwapsMixin):
    """One left-to-right pass over the labels of an utterance.

    `cur` is the line being described; it is "bound" once its item is known.
    Pending words wait for the option they apply to: a negation (`neg`), an
    amount (`qual`), "make it" (`make`), a swap in progress (`swap`), a count
    ("two shots of", `opt_qty`). `done` collects finished lines for `Builder`.
    """

    def __init__(self, tokens: list[str], catalog: Catalog, matcher: CatalogMatcher, language: str) -> None:
        self.tokens = tokens
        self.catalog = catalog
        self.m = matcher
        self.language = language
        self.events = label_tokens(tokens, matcher, language)
        self.num_starts = [ev.start for ev in self.events if ev.kind == "num"]
        self.done: list[Draft] = []
        self.cur: Draft | None = None
        self.neg = False
        self.neg_word = ""
        self.neg_said_of = False  # a word off the menu came after the negation: it was about that word
        self.last_neg = False
        self.qual: Qualifier | None = None
        self.side_of = False
        self.make = False
        self.after_and = False
        self.swap: dict | None = None
        self.last_opt: tuple[Draft, Opt] | None = None
        self.opt_qty = 1
        self.instead = False  # "instead of": what follows is being replaced, not ordered
        self.split_parent: Draft | None = None  # a line being shared out: "two pizzas, one with ..."
        self.dropped: list[str] = []

    # ------------------------------------------------------------ fitting

    def _fits(self, draft: Draft, mention: Mention, kinds: tuple[str, ...]) -> bool:
        return fits_any(self.m, draft, mention, kinds)

    def _item_ahead(self, k: int) -> list[Target]:
        """Items named later in the same phrase (before the next quantity)."""
        for ev in self.events[k + 1 :]:
            if ev.kind == "num" or (ev.kind == "tag" and ev.tag is Tag.STOP):
                return []
            if ev.kind == "span" and ev.mention is not None:
                items = ev.mention.of_kind("item")
                if items and not (ev.mention.of_kind("modifier") and self._ahead_is_option(ev.mention)):
                    return items
                cats = ev.mention.of_kind("category")
                if cats:
                    return [Target("item", item_id=i) for i in self.m.items_by_category.get(cats[0].category or "", [])]
        return []

    def _ahead_is_option(self, mention: Mention) -> bool:
        """A word ahead that is an item and also an option of the line being described ('guac')."""
        cur = self.cur
        return cur is not None and cur.bound and self._fits(cur, mention, ("modifier",))

    def _accepts_ahead(self, items: list[Target], mention: Mention) -> bool:
        for it in items:
            if self._fits(probe(it), mention, ("modifier", "variation")):
                return True
        return False

    # ------------------------------------------------------------ line lifecycle

    def _new(self, start: int, qty: int | None = None) -> Draft:
        if self.cur is not None:
            self._finish(self.cur)
        self.cur = Draft(start=start, qty=qty, end=start)
        self.after_and = False
        return self.cur

    def _finish(self, draft: Draft) -> None:
        if draft.has_content or draft.category:
            self.done.append(draft)
        if self.cur is draft:
            self.cur = None

    def _target_line(self) -> Draft | None:
        """The line "it" / "that" refers to: the one being described, else the last one."""
        if self.cur is not None and (self.cur.bound or self.cur.has_content or not self.done):
            return self.cur
        return self.done[-1] if self.done else None

    # ------------------------------------------------------------ event handlers

    def run(self) -> None:
        for k, ev in enumerate(self.events):
            if ev.kind == "num":
                self._on_num(k, ev)
            elif ev.kind == "span":
                self._on_span(k, ev)
            elif ev.kind == "tag":
                self._on_tag(ev)
            elif self.neg and self.m.fuzzy_eligible(ev.text):
                self.neg_said_of = True  # "allergic to dairy": the negation found its word
        if self.cur is not None:
            self._finish(self.cur)

    def _on_num(self, k: int, ev: Label) -> None:
        if ev.text in ARTICLES and self._article_of_nothing(k):
            return  # "do me a favor": no new line
        if self._split(k, ev):
            return
        if self._count_of_option(k):
            # "a pie with mushrooms and a thin crust", "a latte with one extra shot": still the same line.
            self.opt_qty = ev.value
            return
        # "i don't want a coke" keeps its negation; "can you hold a hammer for me" is no negation,
        # nor is "allergic to dairy, so a chicken bowl": the negation was about a word off the menu.
        if not (self.neg and ev.text in ARTICLES and not self.neg_word.startswith("hold") and not self.neg_said_of):
            self.neg = False
        self.qual = None
        if self.make:
            line = self._target_line()
            if line is not None:
                if ev.text not in ARTICLES:  # "make it two"; "make it a large" waits for "large"
                    line.qty = ev.value
                    self.make = False
                return
            self.make = False
        cur = self.cur
        if self._one_after_option(k, ev):
            cur.end = ev.end  # "a large candle, the sea salt one": "one" is the candle, not another line
            return
        # "a small one with olives": "one" stands for the item just ordered.
        if ev.text in ("one", "ones") and cur is not None and not cur.bound and cur.qty is not None and (
            cur.variation is not None or cur.opts
        ):
            prev = next((d for d in reversed(self.done) if d.item is not None), None)
            if prev is not None:
                cur.item = prev.item
            cur.end = ev.end  # with nothing ordered yet, "a large one" is still one line that asks which
            return
        if cur is not None and not cur.bound and cur.qty is None and not cur.variation and not cur.opts:
            cur.qty = ev.value
            cur.end = ev.end
            return
        self.split_parent = None
        self._new(ev.start, ev.value).end = ev.end

    def _on_tag(self, ev: Label) -> None:
        tag = ev.tag
        if tag is Tag.NEG:
            self.neg = True
            self.neg_word = ev.text
            self.neg_said_of = False
            self.qual = None
        elif tag is Tag.EXTRA:
            self.qual = Qualifier.EXTRA
        elif tag is Tag.LIGHT:
            self.qual = Qualifier.LIGHT
        elif tag is Tag.WITH:
            if ev.text not in ADDING:  # "do not add any ham" keeps its negation
                self.neg = False
            self.after_and = False
            self.make = False
        elif tag is Tag.AND:
            self.after_and = True
            self.qual = None
            self.neg = False
            self.last_neg = False
        elif tag is Tag.OR:
            if self.last_neg:
                self.neg = True
        elif tag is Tag.STOP:
            self.after_and = True
            self.neg = False
            self.qual = None
        elif tag in (Tag.SWAP, Tag.SUBSTITUTE):
            if self._swap_ahead(ev):
                self.swap = {"verb": tag, "first": None, "joiner": None}
        elif tag is Tag.SWAP_TO:
            if self.swap is not None and self.swap.get("first") is not None:
                self.swap["joiner"] = ev.text.split()[0]
        elif tag is Tag.INSTEAD:
            self.instead = True
            if self.last_opt is not None and self._last_was_opt(ev):
                self.swap = {"verb": Tag.INSTEAD, "new": self.last_opt}
            else:
                self.swap = {"verb": Tag.SWAP, "first": None, "joiner": "for"}
        elif tag is Tag.CHANGE_TO:
            if self.last_opt is not None:
                self.swap = {"verb": Tag.CHANGE_TO, "old": self.last_opt}
        elif tag is Tag.SIDE:
            if self.last_opt is not None and self._last_was_opt(ev):
                opt = self.last_opt[1]
                if opt.qualifier is Qualifier.NORMAL:
                    opt.qualifier = Qualifier.SIDE
        elif tag is Tag.SIDE_OF:
            self.side_of = True
        elif tag is Tag.MAKE:
            self.make = True

    def _on_span(self, k: int, ev: Label) -> None:
        m = ev.mention
        assert m is not None
        items = m.of_kind("item")
        variations = m.of_kind("variation")
        modifiers = m.of_kind("modifier")
        categories = m.of_kind("category")
        cur = self.cur
        next_is_side = self._next_tag(k) is Tag.SIDE

        if self.swap is not None and modifiers:
            if self._on_swap(m):
                return
        # "a side of guacamole", "guacamole on the side": an item of its own, even where it is also an option.
        if items and (self.side_of or next_is_side):
            self.side_of = False
            self._on_item(k, m, items)
            return
        if self.make and (variations or modifiers):
            self.make = False
            line = self._target_line()
            if line is not None and line.bound:
                if variations and self._fits(line, m, ("variation",)):
                    line.variation = m
                    return
                if modifiers and self._fits(line, m, ("modifier",)):
                    self._attach(line, m)
                    return
        if cur is not None and cur.bound:
            self._on_span_after_item(k, m, items, variations, modifiers, categories)
        else:
            self._on_span_before_item(k, m, items, variations, modifiers, categories)

    def _next_tag(self, k: int) -> Tag | None:
        for ev in self.events[k + 1 :]:
            if ev.kind == "tag":
                return ev.tag
            if ev.kind != "word":
                return None
        return None

    def _on_span_after_item(self, k, m, items, variations, modifiers, categories) -> None:
        cur = self.cur
        assert cur is not None and cur.item is not None
        if categories and not items and not variations and not modifiers:
            if self.neg:
                self.neg = False  # "and no drinks"
                return
            if cur.item.category == categories[0].category:
                return  # "fries on the side", "the burrito meal": the line already said
            draft = self._new(m.start)
            draft.category = categories[0].category
            draft.category_words = m.text.split()
            draft.category_score = m.score
            draft.end = m.end
            return
        fits_mod = bool(modifiers) and self._fits(cur, m, ("modifier",))
        fits_var = bool(variations) and self._fits(cur, m, ("variation",)) and cur.variation is None
        if (fits_mod or fits_var) and not (self.neg and items and not fits_mod):
            if self.after_and and not self.neg and not self.qual:
                ahead = [t for t in self._item_ahead(k) if t.item_id != cur.item.item_id]
                if ahead and self._accepts_ahead(ahead, m) and not items:
                    self._start_pre(m, variations, modifiers)
                    return
            if fits_var and not (fits_mod and self._prefer_option(cur, m)):
                cur.variation = m
                cur.end = m.end
                self.qual = None
                return
            self._attach(cur, m)
            return
        if items:
            self._on_item(k, m, items)
            return
        if variations or modifiers:
            # Not for the item just named: an earlier line that takes it, or the item that follows.
            ahead = self._item_ahead(k)
            if ahead and self._accepts_ahead(ahead, m):
                self._start_pre(m, variations, modifiers)
                return
            for prev in reversed(self.done):
                if prev.item is None:
                    continue
                if modifiers and self._fits(prev, m, ("modifier",)):
                    self._attach(prev, m)
                    return
                if variations and prev.variation is None and self._fits(prev, m, ("variation",)):
                    prev.variation = m
                    return
            if not modifiers and self._fits(cur, m, ("variation",)):
                self.dropped.append(m.text)  # a second size for a line that has one: not a new order
                return
            self._start_pre(m, variations, modifiers)

    def _prefer_option(self, draft: Draft, m: Mention) -> bool:
        """A word that is both a size and an option ('medium' and 'medium roast'): the size, unless it is set."""
        return draft.variation is not None

    def _start_pre(self, m: Mention, variations: list[Target], modifiers: list[Target]) -> None:
        draft = self._new(m.start)
        if variations and not (self.neg or self.qual):
            draft.variation = m
            draft.end = m.end
        else:
            self._attach(draft, m)

    def _on_span_before_item(self, k, m, items, variations, modifiers, categories) -> None:
        cur = self.cur
        if categories and not items and not variations and not modifiers:
            if self.neg:
                self.neg = False
                return
            if cur is None:
                cur = self._new(m.start)
            if cur.category and cur.category != categories[0].category and cur.has_content:
                cur = self._new(m.start)
            cur.category = categories[0].category
            cur.category_words = m.text.split()
            cur.category_score = m.score
            cur.end = m.end
            return
        if items and (modifiers or variations):
            ahead = self._item_ahead(k)
            if not ahead or self.neg and not modifiers:
                self._on_item(k, m, items)
                return
        elif items:
            self._on_item(k, m, items)
            return
        if cur is None:
            cur = self._new(m.start)
        if variations and cur.variation is None and not self.neg and not self.qual and (
            not modifiers or self._fits(cur, m, ("variation",))
        ):
            cur.variation = m
            cur.end = m.end
            return
        if modifiers:
            self._attach(cur, m)
            return
        if variations:
            draft = self._new(m.start)
            draft.variation = m
            draft.end = m.end

    def _on_item(self, k: int, m: Mention, items: list[Target]) -> None:
        self.qual = None
        if self.neg or self.instead:
            # "no drinks", "i don't want a coke", "a sprite instead of the coke": nothing to add.
            self.neg = self.instead = False
            self.swap = None
            self.dropped.append(m.text)
            return
        cur = self.cur
        if cur is not None and cur.item is not None:
            same = next((t for t in items if t.item_id == cur.item.item_id), None)
            if same is not None and not self._num_between(cur, m):
                cur.end = m.end  # "pizza pie", "the burrito ... burrito"
                return
            said = cur.item_mention
            kin = next((t for t in items if t.category and t.category == cur.item.category), None)
            if said is not None and said.end == m.start and kin is not None:
                # Two names of one kind back to back: "americano coffee" (a generic last word), or a
                # misheard word before a name ("caffe latte" heard as "coffee latte").
                if said.score < CONFIRM_BELOW <= m.score:
                    cur.item, cur.item_mention = kin, m
                    cur.end = m.end
                    return
                if self.m.is_generic_head(m):
                    cur.end = m.end
                    return
            if self._dip_of(cur, m, items):
                return
            cur = self._new(m.start)
        if cur is None or (self.after_and and not self._takes_said(cur, items)):
            # "a small pepperoni and garlic knots": what was said before "and" is a line of its own.
            cur = self._new(m.start)
        cur.item = self._choose_item(cur, items)
        cur.item_mention = m
        cur.end = max(cur.end, m.end)
        self.after_and = False

    def _takes_said(self, draft: Draft, items: list[Target]) -> bool:
        """Whether one of these items takes the size and options said so far for an itemless line."""
        said = [o.mention for o in draft.opts] + ([draft.variation] if draft.variation is not None else [])
        return any(all(self._fits(probe(t), mention, ("modifier", "variation")) for mention in said) for t in items)

    def _dip_of(self, cur: Draft, m: Mention, items: list[Target]) -> bool:
        """'queso and chips': the line just said is an option of this item, so one line of chips with queso."""
        said = cur.item_mention
        if said is None or cur.opts or cur.variation is not None or (cur.qty or 1) > 1 or self._num_between(cur, m):
            return False
        for t in items:
            if self._fits(probe(t), said, ("modifier",)):
                cur.item, cur.item_mention = t, m
                cur.opts.append(Opt(said))
                cur.end = m.end
                return True
        return False

    def _num_between(self, draft: Draft, m: Mention) -> bool:
        """A quantity said between the line's item and this mention ("a pizza and two pizzas")."""
        after = draft.item_mention.end if draft.item_mention is not None else draft.start
        return any(after <= start < m.start for start in self.num_starts)

    def _choose_item(self, draft: Draft, items: list[Target]) -> Target:
        def score(t: Target) -> tuple[int, int]:
            p = probe(t)
            fit = sum(1 for o in draft.opts if self._fits(p, o.mention, ("modifier",)))
            if draft.variation is not None and self._fits(p, draft.variation, ("variation",)):
                fit += 1
            return (int(draft.category is not None and t.category == draft.category), fit)

        return max(items, key=score) if len(items) > 1 else items[0]

    def _attach(self, draft: Draft, m: Mention) -> None:
        qualifier = Qualifier.NORMAL
        declined = False
        if self.neg:
            qualifier = Qualifier.NO
            declined = self.qual is Qualifier.EXTRA
        elif self.qual is not None:
            qualifier = self.qual
        opt = Opt(m, qualifier, declined=declined, quantity=max(1, self.opt_qty))
        self.opt_qty = 1
        draft.opts.append(opt)
        draft.end = max(draft.end, m.end)
        self.last_neg = self.neg
        self.neg = False
        self.qual = None
        self.last_opt = (draft, opt)
        self.after_and = False

def parse_order(text: str, catalog: Catalog, language: str = "en") -> ParseResult:
    """Order lines in an utterance, each with its confidence; 86'd things in `unavailable`."""
    tokens = tokenize(text)
    if not tokens:
        return ParseResult()
    matcher = matcher_for(catalog, language)
    if language == "en":
        tokens = _counts_heard_as_words(tokens, matcher)
    parser = _Parser(tokens, catalog, matcher, language)
    parser.run()
    return Builder(catalog, matcher, tokens, parser.events, parser.done, parser.dropped).build()


# "two" as a recogniser may write it right before what is ordered: "too large
# pepperoni pizzas", "a burrito bowl into al pastor tacos" (and two). "too"
# before a menu word, and "into" before an item or a topping ("make it into
# a large" stays a size change), mean nothing else in an order.
_HEARD_AS_TWO = {"too": ("item", "variation", "modifier"), "into": ("item", "modifier")}


def _counts_heard_as_words(tokens: list[str], matcher: CatalogMatcher) -> list[str]:
    out = list(tokens)
    for i, token in enumerate(tokens[:-1]):
        kinds = _HEARD_AS_TWO.get(token)
        mention = matcher.exact_at(tokens, i + 1) if kinds else None
        if mention is not None and mention.of_kind(*kinds):
            out[i] = "2"
    return out
