"""From heard lines to catalog lines: pick the item, size and options each line really names.

A line said without its item ("one large with pineapple") takes the only item
that can have everything said; several possible items make a PartialLine the
dialogue asks about. A category word plus option words that together make an
item's name ("una pizza grande de pepperoni") name that item. Prices come from
the catalog; anything 86'd is reported in `unavailable`, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agi.catalog import Catalog, Item, Variation
from agi.dialogue.matcher import CONFIRM_BELOW, CatalogMatcher, Mention
from agi.dialogue.nlu_drafts import Draft, Opt, fits_any, probe
from agi.dialogue.nlu_labels import Label
from agi.dialogue.nlu_result import ParsedLine, ParseResult, PartialLine, Unavailable
from agi.dialogue.nlu_text import plural_variants, tokenize
from agi.dialogue.packs import in_packs
from agi.tickets import LineModifier, OrderLine, Qualifier, modifier_price

_INFERRED = 0.9  # confidence of an item named only by its options
_NAME_JOINERS = frozenset({"de", "del", "with", "and", "y", "con", "the", "of", "la", "el", "的"})


@dataclass(slots=True)
class _Said:
    """The size and options a line was said with, checked against its item."""

    variation: Variation | None = None
    mods: list[LineModifier] = field(default_factory=list)
    declined: list[LineModifier] = field(default_factory=list)  # "no extra cheese"
    scores: list[float] = field(default_factory=list)
    confirm: bool = False  # something said could not be taken as said: read the line back


def _name_words(form: str) -> set[str]:
    return {t for t in tokenize(form) if t not in _NAME_JOINERS}


def _unique_longest(matches: Iterable[tuple[Item, set[str]]]) -> tuple[Item, set[str]] | None:
    """The item whose name matched with the most words, unless another item matched with as many."""
    best: tuple[Item, set[str]] | None = None
    tie = False
    for item, words in matches:
        if best is None or len(words) > len(best[1]):
            best, tie = (item, words), False
        elif len(words) == len(best[1]) and item.id != best[0].id:
            tie = True
    return None if tie else best


def plural_heard(said: str, item: Item, language: str) -> bool:
    """'pepperoni pizzas' for the pepperoni pizza: the name's last word said
    in the plural ('fries' of "french fries" is the name itself)."""
    words = tokenize(said.lower())
    if not words or not words[-1].endswith("s"):
        return False
    for name in item.spoken_forms():
        last = tuple(tokenize(name.lower()))[-1:]
        if last and last[0] != words[-1] and (words[-1],) in plural_variants(last, language):
            return True
    return False


class Builder:
    """Turns the heard lines of one utterance into a ParseResult."""

    def __init__(self, catalog: Catalog, matcher: CatalogMatcher, tokens: list[str], labels: list[Label],
                 drafts: list[Draft], not_ordered: list[str]) -> None:
        self.catalog = catalog
        self.m = matcher
        self.tokens = tokens
        self.labels = labels
        self.drafts = drafts
        self.not_ordered = not_ordered
        self.result = ParseResult(tokens=tokens)

    def build(self) -> ParseResult:
        built: list[tuple[Draft, Item, bool]] = []
        unresolved: Draft | None = None  # the line just before, when it became a PartialLine
        for draft in self.drafts:
            if unresolved is not None and draft.item is None and draft.qty is None and not draft.category:
                # "a large one with mushrooms": the options go with the line still missing its item
                self.result.partial.pop()
                unresolved.opts.extend(draft.opts)
                if draft.variation is not None and unresolved.variation is None:
                    unresolved.variation = draft.variation
                unresolved.end = max(unresolved.end, draft.end)
                draft = unresolved
            partials = len(self.result.partial)
            resolved = self._resolve_item(draft, built)
            unresolved = draft if len(self.result.partial) > partials else None
            if resolved is None:
                continue
            item, inferred = resolved
            built.append((draft, item, inferred))
        for draft, item, inferred in built:
            parsed = self._line(draft, item, inferred)
            if parsed is not None:
                self.result.lines.append(parsed)
        self.result.not_ordered = list(self.not_ordered)
        self.result.unmatched_text = " ".join(
            ev.text for ev in self.labels if ev.kind == "word" and self.m.fuzzy_eligible(ev.text)
        )
        return self.result

    def _resolve_item(self, draft: Draft, built: list) -> tuple[Item, bool] | None:
        """The item of a line, and whether it was inferred; None when the line adds to another or is a question."""
        if draft.item is not None:
            item = self.catalog.item(draft.item.item_id or "")
            return (item, False) if item is not None else None
        if not draft.opts and draft.variation is None and not draft.category:
            return None
        pool = self.m.items_by_category.get(draft.category, []) if draft.category else [i.id for i in self.catalog.items]
        named = self._named_by_parts(draft, pool)
        if named is not None:
            return named, False
        said = [o.mention for o in draft.opts] + ([draft.variation] if draft.variation is not None else [])

        def taken(item_id: str) -> int:
            probe_line = probe(item_id)
            return sum(1 for mention in said if fits_any(self.m, probe_line, mention, ("modifier", "variation")))

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
        candidates = fitting or list(pool)
        named = self._named_by_options(draft, candidates) if len(candidates) > 1 else None
        if named is not None:
            return named, True
        first = self.catalog.item(candidates[0]) if candidates else None
        if first is not None and (draft.opts or draft.variation is not None):
            parsed = self._line(draft, first, inferred=True)
            if parsed is not None:
                self.result.partial.append(
                    PartialLine(
                        candidates=candidates,
                        quantity=parsed.line.quantity,
                        variation_name=parsed.line.variation_name,
                        modifiers=parsed.line.modifiers,
                        text=parsed.text,
                    )
                )
        return None

    def _named_by_parts(self, draft: Draft, pool: list[str]) -> Item | None:
        """'una pizza grande de pepperoni' names 'pizza de pepperoni': a category word plus option words
        that together make an item's name. The option words are then the name, not extra options."""
        if not draft.category_words:
            return None
        category_words = set(draft.category_words) | set(tokenize(draft.category or ""))
        plain = [o for o in draft.opts if o.qualifier is Qualifier.NORMAL]
        words_of = self._plain_words(draft)
        said = category_words.union(*words_of.values()) if words_of else set(category_words)
        items = [i for i in (self.catalog.item(item_id) for item_id in pool) if i is not None]
        best = _unique_longest(
            (item, toks)
            for item in items
            for toks in (_name_words(form) for form in item.spoken_forms())
            if len(toks) >= 2 and toks <= said and category_words & toks
        )
        if best is None:
            return None
        item, toks = best
        used = [o for o in plain if words_of[id(o)] & toks]
        draft.opts = [o for o in draft.opts if o not in used]
        draft.name_score = min([draft.category_score, *(o.mention.score for o in used)])
        return item

    def _plain_words(self, draft: Draft) -> dict[int, set[str]]:
        """The words of each plain option said, with the names a misheard option stands for."""
        words_of: dict[int, set[str]] = {}
        for o in draft.opts:
            if o.qualifier is not Qualifier.NORMAL:
                continue
            words = set(o.mention.text.split())
            for t in o.mention.of_kind("modifier"):
                words.update(self.m.names_of(t))  # "pepperony" heard, "pepperoni" meant
            words_of[id(o)] = words
        return words_of

    def _named_by_options(self, draft: Draft, candidates: list[str]) -> Item | None:
        """'a pepperoni, please' among the pizzas: the option words said are all that sets one
        candidate's name apart from the others ('pepperoni' of 'pepperoni pizza'), so that is
        the item a person would take, and the words are its name, not a topping on top."""
        if draft.category_words:
            return None
        words_of = self._plain_words(draft)
        if not words_of:
            return None
        said = set().union(*words_of.values())
        items = [i for i in (self.catalog.item(c) for c in candidates) if i is not None]
        forms = {i.id: [_name_words(f) for f in i.spoken_forms()] for i in items}
        shared = set.intersection(*(set().union(*fs) for fs in forms.values())) if forms else set()
        best = _unique_longest(
            (item, own)
            for item in items
            for own in (form - shared for form in forms[item.id])
            if own and own <= said
        )
        if best is None:
            return None
        item, own = best
        used = [o for o in draft.opts if id(o) in words_of and words_of[id(o)] & own]
        draft.opts = [o for o in draft.opts if o not in used]
        draft.name_score = min(o.mention.score for o in used)
        return item

    def _line(self, draft: Draft, item: Item, inferred: bool) -> ParsedLine | None:
        qty = draft.qty if draft.qty and draft.qty > 0 else 1
        text = " ".join(self.tokens[draft.start : draft.end])
        if draft.name_score is not None:
            scores = [draft.name_score]
        elif draft.item_mention is not None and not inferred:
            scores = [draft.item_mention.score]
        else:
            scores = [_INFERRED]
        if not item.available:
            # What was said with it goes along, for the alternative offered instead.
            said = self._said_with(draft, item, qty, report=False)
            self.result.unavailable.append(Unavailable(
                "item", item.id, item.name, item_id=item.id, quantity=qty, text=text,
                variation_name=said.variation.name if said.variation else None, modifiers=said.mods,
            ))
            return None
        said = self._said_with(draft, item, qty, report=True)
        variation = said.variation
        if variation is None and item.default_variation:
            default = item.variation(item.default_variation)
            # An 86'd default is not chosen silently: the size question lists what is left.
            variation = default if default is not None and default.available else None
        qty, pieces = in_packs(item, qty, self.tokens[draft.start : draft.end]) if draft.qty else (qty, None)
        confidence = round(min(scores + said.scores), 3)
        line = OrderLine(
            catalog_id=item.id,
            name=item.name,
            quantity=qty,
            variation_id=variation.id if variation else None,
            variation_name=variation.name if variation else None,
            modifiers=said.mods,
            unit_price_minor=item.base_price(variation.id if variation else None),
            confidence=confidence,
        )
        return ParsedLine(
            line=line,
            confidence=confidence,
            needs_confirmation=said.confirm or confidence < CONFIRM_BELOW,
            declined=said.declined,
            inferred_item=inferred,
            text=text,
            count_unsaid=draft.qty is None and draft.item_mention is not None and not inferred
            and plural_heard(draft.item_mention.text, item, self.m.language),
            pieces=pieces,
        )

    def _said_with(self, draft: Draft, item: Item, qty: int, report: bool) -> _Said:
        """The size and options of a line as the catalog has them; with `report`, an 86'd
        size or option is put in `unavailable` (and the line is to be confirmed without it)."""
        said = _Said()
        opts = list(draft.opts)
        if draft.variation is not None:
            vid = next((v for t in draft.variation.candidates if (v := self.m.size_named_like(item.id, t))), None)
            if vid is not None:
                said.variation = item.variation(vid)
                said.scores.append(draft.variation.score)
            elif fits_any(self.m, probe(item.id), draft.variation, ("modifier",)):
                opts.insert(0, Opt(draft.variation))
        if said.variation is not None and not said.variation.available:
            if report:
                self.result.unavailable.append(Unavailable(
                    "variation", said.variation.id, said.variation.name, on_item=item.id, quantity=qty,
                    text=" ".join(self.tokens[draft.start : draft.end]),
                ))
            said.variation = None
            said.confirm = True
        seen: set[tuple[str, Qualifier]] = set()
        used_groups: dict[str, int] = {}
        for opt in opts:
            target = self._modifier_for(item, opt.mention, used_groups)
            if target is None:
                continue
            group, mod = target
            if not mod.available and opt.qualifier is not Qualifier.NO:
                if report:
                    self.result.unavailable.append(
                        Unavailable("modifier", mod.id, mod.name, on_item=item.id, quantity=qty, text=opt.mention.text)
                    )
                said.confirm = True
                continue
            replaces = None
            if opt.replaces is not None:
                old = self._modifier_for(item, opt.replaces, {})
                replaces = old[1].id if old else None
            lm = LineModifier(
                catalog_id=mod.id,
                name=mod.name,
                quantity=opt.quantity,
                qualifier=opt.qualifier,
                replaces=replaces,
                price_minor=modifier_price(mod.price_delta, opt.qualifier),
                group_id=group.id,
            )
            if opt.declined:
                said.declined.append(lm.model_copy(update={"qualifier": Qualifier.EXTRA, "price_minor": 0}))
                continue
            if (mod.id, opt.qualifier) in seen:
                continue
            if opt.qualifier is Qualifier.NO:
                # "no oat milk, just regular milk": a "no" takes no room in a pick-one group.
                seen.add((mod.id, opt.qualifier))
                said.scores.append(opt.mention.score)
                said.mods.append(lm)
                continue
            if group.max is not None and used_groups.get(group.id, 0) >= group.max:
                # More than the register allows ("almond milk and oat milk"
                # of one milk): the first one said is kept and read back.
                said.confirm = True
                continue
            seen.add((mod.id, opt.qualifier))
            used_groups[group.id] = used_groups.get(group.id, 0) + 1
            said.scores.append(opt.mention.score)
            said.mods.append(lm)
        return said

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
