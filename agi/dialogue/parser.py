"""Rules-first order parser: an utterance and a catalog in, order lines out.

    >>> parse_order("two large pepperoni pizzas, one with no onions, and a coke", catalog)

The words are first labelled, longest phrase first: menu names (from the
catalog, via `matcher`), quantities (`numbers`) and the grammar words of
`nlu_grammar` ("hold the", "extra", "instead of"). A left-to-right pass then
builds lines: a quantity opens a line, sizes and options said before the item
wait for it ("a large onion and pepper pizza"), options said after it attach
to it, or to the earlier line that can take them ("a pizza and a coke with
extra cheese"), or to the item that follows ("a coke and large fries"). Options
said with no item name the one item that can take them all ("one large with
pineapple" on a menu where only pizzas take pineapple).

Nothing here knows a menu word: everything about the business comes from its
Catalog. Deterministic, no I/O; the matcher is built once per catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agi.catalog import Catalog, Item
from agi.dialogue.matcher import CONFIRM_BELOW, CatalogMatcher, Mention, Target, matcher_for
from agi.dialogue.nlu_grammar import ADDING, MAX_PHRASE, NOT_A_QUANTITY_BEFORE, PHRASES, Tag
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import parse_quantity
from agi.tickets import LineModifier, OrderLine, Qualifier, modifier_price

_INFERRED = 0.9  # confidence of an item named only by its options
_ARTICLES = {"a", "an", "un", "una"}


@dataclass(slots=True)
class ParsedLine:
    """One order line as understood, with how sure the parser is."""

    line: OrderLine
    confidence: float
    needs_confirmation: bool
    declined: list[LineModifier] = field(default_factory=list)  # "no extra cheese": extras not wanted
    inferred_item: bool = False  # the item was not named, only options that fit nothing else
    text: str = ""


@dataclass(slots=True)
class Unavailable:
    """Something the caller asked for that the catalog marks out of stock (86'd)."""

    kind: str  # "item" | "variation" | "modifier"
    catalog_id: str
    name: str
    item_id: str | None = None  # the item itself, or the item the size/option was asked on
    quantity: int = 1
    text: str = ""


@dataclass(slots=True)
class ParseResult:
    lines: list[ParsedLine] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # options that fit several items: ask which
    unmatched_text: str = ""  # words that look like menu words but matched nothing
    tokens: list[str] = field(default_factory=list)

    @property
    def needs_confirmation(self) -> bool:
        return any(p.needs_confirmation for p in self.lines)


# ---------------------------------------------------------------------------- events


@dataclass(slots=True)
class _Ev:
    kind: str  # "span" | "num" | "tag" | "word"
    start: int
    end: int
    mention: Mention | None = None
    tag: Tag | None = None
    value: int = 0
    text: str = ""


def _events(tokens: list[str], m: CatalogMatcher, language: str) -> list[_Ev]:
    """Label the tokens, longest phrase first; ties between a menu word and a grammar word go to the grammar
    when an option follows ('light' before 'mayo' is an amount, not the light roast)."""
    phrases = PHRASES.get(language, PHRASES["en"])
    n = len(tokens)
    out: list[_Ev] = []
    i = 0
    while i < n:
        span = m.exact_at(tokens, i)
        lc = span.end - i if span else 0
        tag, lg = None, 0
        for length in range(min(MAX_PHRASE, n - i), 0, -1):
            t = phrases.get(tuple(tokens[i : i + length]))
            if t is not None:
                tag, lg = t, length
                break
        q = None if (language == "es" and tokens[i] == "a") else parse_quantity(tokens, i)
        if q is not None and i + q[1] < n and tokens[i + q[1]] in NOT_A_QUANTITY_BEFORE:
            q = None  # "a two topping pizza", "a 12 inch pizza"
        lq = q[1] if q else 0
        if span is not None and lc >= lg and lc >= lq:
            if lc == lg and tag in (Tag.EXTRA, Tag.LIGHT, Tag.NEG) and i + lc < n:
                nxt = m.exact_at(tokens, i + lc)
                if nxt is not None and nxt.of_kind("modifier"):
                    span = None
            if lc == lq and span is not None and not span.of_kind("item", "modifier", "variation"):
                span = None  # a category word that is also a number
            if span is not None:
                out.append(_Ev("span", i, span.end, mention=span))
                i = span.end
                continue
        if tag is not None and lg >= lq:
            if tag is Tag.SIDE_OF and tokens[i] in _ARTICLES:
                out.append(_Ev("num", i, i + 1, value=1, text=tokens[i]))
            out.append(_Ev("tag", i, i + lg, tag=tag, text=" ".join(tokens[i : i + lg])))
            i += lg
            continue
        if q is not None:
            out.append(_Ev("num", i, i + lq, value=q[0], text=" ".join(tokens[i : i + lq])))
            i += lq
            continue
        out.append(_Ev("word", i, i + 1, text=tokens[i]))
        i += 1
    # Second chance for unknown words: the head word of one option, then spelling and sound.
    free = [False] * n
    for ev in out:
        if ev.kind == "word":
            free[ev.start] = True
    if any(free):
        found: dict[int, Mention] = {}
        for i in range(n):
            if not free[i]:
                continue
            hit = m.head_at(tokens, i)
            if hit is None and m.fuzzy_eligible(tokens[i]):
                hit = m.fuzzy_at(tokens, i, free)
            if hit is not None:
                found[hit.start] = hit
                for k in range(hit.start, hit.end):
                    free[k] = False
        if found:
            merged: list[_Ev] = []
            for ev in out:
                if ev.kind == "word" and ev.start in found:
                    hit = found[ev.start]
                    merged.append(_Ev("span", hit.start, hit.end, mention=hit))
                elif ev.kind == "word" and not free[ev.start]:
                    continue  # swallowed by a multi-word fuzzy hit
                else:
                    merged.append(ev)
            out = merged
    return out


# ---------------------------------------------------------------------------- drafts


@dataclass(slots=True)
class _Opt:
    mention: Mention
    qualifier: Qualifier = Qualifier.NORMAL
    replaces: Mention | None = None
    declined: bool = False  # "no extra X"


@dataclass(slots=True)
class _Draft:
    start: int
    qty: int | None = None
    item: Target | None = None
    item_mention: Mention | None = None
    category: str | None = None
    variation: Mention | None = None
    opts: list[_Opt] = field(default_factory=list)
    end: int = 0

    @property
    def bound(self) -> bool:
        return self.item is not None

    @property
    def has_content(self) -> bool:
        return self.variation is not None or bool(self.opts) or self.item is not None


class _Parser:
    def __init__(self, tokens: list[str], catalog: Catalog, matcher: CatalogMatcher, language: str) -> None:
        self.tokens = tokens
        self.catalog = catalog
        self.m = matcher
        self.language = language
        self.events = _events(tokens, matcher, language)
        self.done: list[_Draft] = []
        self.cur: _Draft | None = None
        self.neg = False
        self.last_neg = False
        self.qual: Qualifier | None = None
        self.side_of = False
        self.make = False
        self.after_and = False
        self.swap: dict | None = None
        self.last_opt: tuple[_Draft, _Opt] | None = None
        self.dropped: list[str] = []

    # ------------------------------------------------------------ fitting

    def _fits(self, draft: _Draft, target: Target) -> bool:
        if draft.item is None:
            if target.kind == "variation" and draft.category:
                return target.item_id in self.m.items_by_category.get(draft.category, [])
            return True
        item_id = draft.item.item_id
        if target.kind == "variation":
            return target.item_id == item_id
        if target.kind == "modifier":
            return self.m.accepts_modifier(item_id, target.modifier_id)  # type: ignore[arg-type]
        return False

    def _fits_any(self, draft: _Draft, mention: Mention, kinds: tuple[str, ...]) -> bool:
        return any(self._fits(draft, t) for t in mention.candidates if t.kind in kinds)

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
        return False

    def _accepts_ahead(self, items: list[Target], mention: Mention) -> bool:
        for it in items:
            probe = _Draft(0, item=it)
            if self._fits_any(probe, mention, ("modifier", "variation")):
                return True
        return False

    # ------------------------------------------------------------ line lifecycle

    def _new(self, start: int, qty: int | None = None) -> _Draft:
        if self.cur is not None:
            self._finish(self.cur)
        self.cur = _Draft(start=start, qty=qty, end=start)
        self.after_and = False
        return self.cur

    def _finish(self, draft: _Draft) -> None:
        if draft.has_content or draft.category:
            self.done.append(draft)
        if self.cur is draft:
            self.cur = None

    def _target_line(self) -> _Draft | None:
        if self.cur is not None and (self.cur.bound or not self.done):
            return self.cur
        if self.cur is not None and self.cur.has_content:
            return self.cur
        return self.done[-1] if self.done else self.cur

    # ------------------------------------------------------------ event handlers

    def run(self) -> None:
        for k, ev in enumerate(self.events):
            if ev.kind == "num":
                self._on_num(k, ev)
            elif ev.kind == "span":
                self._on_span(k, ev)
            elif ev.kind == "tag":
                self._on_tag(ev)
        if self.cur is not None:
            self._finish(self.cur)

    def _on_num(self, k: int, ev: _Ev) -> None:
        if ev.text in _ARTICLES and (self._article_of_option(k) or self._article_of_nothing(k)):
            return  # "a pie with mushrooms and a thin crust", "do me a favor": no new line
        self.neg = False
        self.qual = None
        if self.make:
            self.make = False
            line = self._target_line()
            if line is not None and ev.text not in _ARTICLES:
                line.qty = ev.value
            return
        cur = self.cur
        # "a small one with olives": "one" stands for the item just ordered.
        if ev.text in ("one", "ones") and cur is not None and not cur.bound and cur.qty is not None and (
            cur.variation is not None or cur.opts
        ):
            prev = next((d for d in reversed(self.done) if d.item is not None), None)
            if prev is not None:
                cur.item = prev.item
                cur.end = ev.end
                return
        if cur is not None and not cur.bound and cur.qty is None and not cur.variation and not cur.opts:
            cur.qty = ev.value
            cur.end = ev.end
            return
        self._new(ev.start, ev.value).end = ev.end

    def _article_of_option(self, k: int) -> bool:
        """An article before an option of the item being described, with no other item coming."""
        cur = self.cur
        if cur is None or not cur.bound:
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word"), None)
        if nxt is None or nxt.kind != "span" or nxt.mention is None:
            return False
        m = nxt.mention
        if m.of_kind("item", "variation", "category") or not self._fits_any(cur, m, ("modifier",)):
            return False
        return not self._item_ahead(k)

    def _article_of_nothing(self, k: int) -> bool:
        """'a favor', 'a question': an article whose noun is no menu word."""
        if k + 1 >= len(self.events) or self.events[k + 1].kind != "word":
            return False
        nxt = next((e for e in self.events[k + 1 :] if e.kind != "word"), None)
        return nxt is None or nxt.kind != "span"

    def _on_tag(self, ev: _Ev) -> None:
        tag = ev.tag
        if tag is Tag.NEG:
            self.neg = True
            self.qual = None
        elif tag is Tag.EXTRA:
            self.qual = Qualifier.EXTRA
        elif tag is Tag.LIGHT:
            self.qual = Qualifier.LIGHT
        elif tag is Tag.WITH:
            if ev.text not in ADDING:  # "do not add any ham" keeps its negation
                self.neg = False
            self.after_and = False
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
            self.swap = {"verb": tag, "first": None, "joiner": None}
        elif tag is Tag.SWAP_TO:
            if self.swap is not None and self.swap.get("first") is not None:
                self.swap["joiner"] = ev.text.split()[0]
        elif tag is Tag.INSTEAD:
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

    def _last_was_opt(self, ev: _Ev) -> bool:
        """Whether the option last attached ends right before this event (fillers allowed)."""
        if self.last_opt is None:
            return False
        end = self.last_opt[1].mention.end
        for other in self.events:
            if end <= other.start < ev.start and other.kind != "word":
                return False
        return True

    def _on_span(self, k: int, ev: _Ev) -> None:
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
        if items and (self.side_of or (next_is_side and not (cur and cur.bound and self._fits_any(cur, m, ("modifier",)) and not self._side_item_preferred(m)))):
            self.side_of = False
            self._on_item(k, m, items)
            return
        if self.make and (variations or modifiers):
            self.make = False
            line = self._target_line()
            if line is not None and line.bound:
                if variations and self._fits_any(line, m, ("variation",)):
                    line.variation = m
                    return
                if modifiers and self._fits_any(line, m, ("modifier",)):
                    self._attach(line, m)
                    return
        if cur is not None and cur.bound:
            self._on_span_after_item(k, m, items, variations, modifiers, categories)
        else:
            self._on_span_before_item(k, m, items, variations, modifiers, categories)

    def _side_item_preferred(self, m: Mention) -> bool:
        return True

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
            if cur.item.category == categories[0].category:
                return  # "fries on the side", "the burrito meal": the line already said
            self._new(m.start).category = categories[0].category
            self.cur.end = m.end  # type: ignore[union-attr]
            return
        fits_mod = bool(modifiers) and self._fits_any(cur, m, ("modifier",))
        fits_var = bool(variations) and self._fits_any(cur, m, ("variation",)) and cur.variation is None
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
                if modifiers and self._fits_any(prev, m, ("modifier",)):
                    self._attach(prev, m)
                    return
                if variations and prev.variation is None and self._fits_any(prev, m, ("variation",)):
                    prev.variation = m
                    return
            self._start_pre(m, variations, modifiers)

    def _prefer_option(self, draft: _Draft, m: Mention) -> bool:
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
            if cur is None:
                cur = self._new(m.start)
            if cur.category and cur.category != categories[0].category and cur.has_content:
                cur = self._new(m.start)
            cur.category = categories[0].category
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
            not modifiers or self._fits_any(cur, m, ("variation",))
        ):
            cur.variation = m
            cur.end = m.end
            return
        if modifiers:
            self._attach(cur, m)
            return
        if variations:
            self._new(m.start).variation = m
            self.cur.end = m.end  # type: ignore[union-attr]

    def _on_item(self, k: int, m: Mention, items: list[Target]) -> None:
        self.qual = None
        if self.neg:
            # "no drinks", "i don't want a coke": nothing to add.
            self.neg = False
            self.dropped.append(m.text)
            return
        cur = self.cur
        if cur is not None and cur.item is not None:
            same = next((t for t in items if t.item_id == cur.item.item_id), None)
            if same is not None and not self._num_between(cur, m):
                cur.end = m.end  # "pizza pie", "the burrito ... burrito"
                return
            cur = self._new(m.start)
        if cur is None:
            cur = self._new(m.start)
        cur.item = self._choose_item(cur, items)
        cur.item_mention = m
        cur.end = max(cur.end, m.end)
        self.after_and = False

    def _num_between(self, draft: _Draft, m: Mention) -> bool:
        return any(ev.kind == "num" and draft.start <= ev.start < m.start for ev in self.events) and (
            draft.item_mention is not None
            and any(ev.kind == "num" and draft.item_mention.end <= ev.start < m.start for ev in self.events)
        )

    def _choose_item(self, draft: _Draft, items: list[Target]) -> Target:
        def score(t: Target) -> tuple[int, int]:
            probe = _Draft(0, item=t)
            fit = sum(1 for o in draft.opts if self._fits_any(probe, o.mention, ("modifier",)))
            if draft.variation is not None and self._fits_any(probe, draft.variation, ("variation",)):
                fit += 1
            return (int(draft.category is not None and t.category == draft.category), fit)

        return max(items, key=score) if len(items) > 1 else items[0]

    def _attach(self, draft: _Draft, m: Mention) -> None:
        qualifier = Qualifier.NORMAL
        declined = False
        if self.neg:
            qualifier = Qualifier.NO
            declined = self.qual is Qualifier.EXTRA
        elif self.qual is not None:
            qualifier = self.qual
        opt = _Opt(m, qualifier, declined=declined)
        draft.opts.append(opt)
        draft.end = max(draft.end, m.end)
        self.last_neg = self.neg
        self.neg = False
        self.qual = None
        self.last_opt = (draft, opt)
        self.after_and = False

    def _on_swap(self, m: Mention) -> bool:
        swap = self.swap
        assert swap is not None
        verb = swap["verb"]
        line = self.cur if self.cur is not None else (self.done[-1] if self.done else None)
        if line is None:
            self.swap = None
            return False
        if verb is Tag.INSTEAD:
            draft, opt = swap["new"]
            opt.qualifier = Qualifier.SWAP
            opt.replaces = m
            self.swap = None
            return True
        if verb is Tag.CHANGE_TO:
            draft, old = swap["old"]
            if old in draft.opts:
                draft.opts.remove(old)
            self.neg = self.qual = None  # type: ignore[assignment]
            self.neg = False
            self._attach(draft, m)
            draft.opts[-1].qualifier = Qualifier.SWAP
            draft.opts[-1].replaces = old.mention
            self.swap = None
            return True
        if swap["first"] is None:
            swap["first"] = m
            return True
        first: Mention = swap["first"]
        joiner = swap.get("joiner")
        # "substitute Y for X": Y is new; "swap X for Y", "substitute X with Y": X is replaced.
        new, old = (first, m) if verb is Tag.SUBSTITUTE and joiner == "for" else (m, first)
        target = line if line.bound or not self.done else self.done[-1]
        self.neg = False
        self.qual = None
        self._attach(target, new)
        target.opts[-1].qualifier = Qualifier.SWAP
        target.opts[-1].replaces = old
        self.swap = None
        return True


# ---------------------------------------------------------------------------- building lines


class _Builder:
    def __init__(self, p: _Parser, catalog: Catalog) -> None:
        self.p = p
        self.catalog = catalog
        self.m = p.m
        self.result = ParseResult(tokens=p.tokens)

    def build(self) -> ParseResult:
        built: list[tuple[_Draft, Item, bool]] = []
        for draft in self.p.done:
            resolved = self._resolve_item(draft, built)
            if resolved is None:
                continue
            item, inferred = resolved
            built.append((draft, item, inferred))
        for draft, item, inferred in built:
            parsed = self._line(draft, item, inferred)
            if parsed is not None:
                self.result.lines.append(parsed)
        if self.p.dropped:
            self.result.unmatched_text = " ".join(self.p.dropped)
        return self.result

    def _resolve_item(self, draft: _Draft, built: list) -> tuple[Item, bool] | None:
        if draft.item is not None:
            item = self.catalog.item(draft.item.item_id or "")
            return (item, False) if item is not None else None
        if not draft.opts and draft.variation is None and not draft.category:
            return None
        pool = self.m.items_by_category.get(draft.category, []) if draft.category else [i.id for i in self.catalog.items]
        said = [o.mention for o in draft.opts] + ([draft.variation] if draft.variation is not None else [])

        def taken(item_id: str) -> int:
            probe = _Draft(0, item=Target("item", item_id=item_id))
            return sum(1 for mention in said if self.p._fits_any(probe, mention, ("modifier", "variation")))

        counts = {item_id: taken(item_id) for item_id in pool}
        best = max(counts.values(), default=0)
        # No quantity and no item: more options for the line before, when it takes them.
        if built and draft.qty is None and not draft.category:
            prev_draft, prev_item, _ = built[-1]
            if taken(prev_item.id) >= max(best, 1):
                prev_draft.opts.extend(draft.opts)
                if draft.variation is not None and prev_draft.variation is None:
                    prev_draft.variation = draft.variation
                return None
        fitting = [i for i, c in counts.items() if c == best and best > 0]
        if len(fitting) == 1 or (draft.category and len(pool) == 1):
            item = self.catalog.item(fitting[0] if fitting else pool[0])
            return (item, True) if item is not None else None
        words = " ".join(self.p.tokens[draft.start : max(draft.end, draft.start + 1)])
        if words:
            self.result.unresolved.append(words)
        return None

    def _line(self, draft: _Draft, item: Item, inferred: bool) -> ParsedLine | None:
        qty = draft.qty if draft.qty and draft.qty > 0 else 1
        text = " ".join(self.p.tokens[draft.start : draft.end])
        scores = [draft.item_mention.score if draft.item_mention and not inferred else _INFERRED]
        if not item.available:
            self.result.unavailable.append(
                Unavailable("item", item.id, item.name, item_id=item.id, quantity=qty, text=text)
            )
            return None
        probe = _Draft(0, item=Target("item", item_id=item.id))
        variation = None
        opts = list(draft.opts)
        confirm = False
        if draft.variation is not None:
            vt = next((t for t in draft.variation.candidates if t.kind == "variation" and t.item_id == item.id), None)
            if vt is not None:
                variation = item.variation(vt.variation_id)
                scores.append(draft.variation.score)
            elif self.p._fits_any(probe, draft.variation, ("modifier",)):
                opts.insert(0, _Opt(draft.variation))
        if variation is not None and not variation.available:
            self.result.unavailable.append(
                Unavailable("variation", variation.id, variation.name, item_id=item.id, quantity=qty, text=text)
            )
            variation = None
            confirm = True
        if variation is None and item.default_variation:
            variation = item.variation(item.default_variation)
        mods: list[LineModifier] = []
        declined: list[LineModifier] = []
        seen: set[tuple[str, Qualifier]] = set()
        used_groups: dict[str, int] = {}
        for opt in opts:
            target = self._modifier_for(item, opt.mention, used_groups)
            if target is None:
                continue
            group, mod = target
            if not mod.available and opt.qualifier is not Qualifier.NO:
                self.result.unavailable.append(
                    Unavailable("modifier", mod.id, mod.name, item_id=item.id, quantity=qty, text=opt.mention.text)
                )
                confirm = True
                continue
            replaces = None
            if opt.replaces is not None:
                old = self._modifier_for(item, opt.replaces, {})
                replaces = old[1].id if old else None
            lm = LineModifier(
                catalog_id=mod.id,
                name=mod.name,
                qualifier=opt.qualifier,
                replaces=replaces,
                price_minor=modifier_price(mod.price_delta, opt.qualifier),
                group_id=group.id,
            )
            if opt.declined:
                declined.append(lm.model_copy(update={"qualifier": Qualifier.EXTRA, "price_minor": 0}))
                continue
            if (mod.id, opt.qualifier) in seen:
                continue
            seen.add((mod.id, opt.qualifier))
            used_groups[group.id] = used_groups.get(group.id, 0) + 1
            scores.append(opt.mention.score)
            mods.append(lm)
        confidence = round(min(scores), 3)
        line = OrderLine(
            catalog_id=item.id,
            name=item.name,
            quantity=qty,
            variation_id=variation.id if variation else None,
            variation_name=variation.name if variation else None,
            modifiers=mods,
            unit_price_minor=item.base_price(variation.id if variation else None),
            confidence=confidence,
        )
        return ParsedLine(
            line=line,
            confidence=confidence,
            needs_confirmation=confirm or confidence < CONFIRM_BELOW,
            declined=declined,
            inferred_item=inferred,
            text=text,
        )

    def _modifier_for(self, item: Item, mention: Mention, used_groups: dict[str, int]):
        """The option of this item that the mention names (a group with room left first)."""
        best = None
        for t in mention.candidates:
            if t.kind != "modifier" or not self.m.accepts_modifier(item.id, t.modifier_id or ""):
                continue
            found = self.catalog.modifier(item, t.modifier_id or "")
            if found is None:
                continue
            group = found[0]
            full = group.max is not None and used_groups.get(group.id, 0) >= group.max
            if not full:
                return found
            best = best or found
        return best


def parse_order(text: str, catalog: Catalog, language: str = "en") -> ParseResult:
    """Order lines in an utterance, each with its confidence; 86'd things in `unavailable`."""
    tokens = tokenize(text)
    if not tokens:
        return ParseResult()
    matcher = matcher_for(catalog, language)
    parser = _Parser(tokens, catalog, matcher, language)
    parser.run()
    return _Builder(parser, catalog).build()
