"""The details a line still needs: its size, a required option, how many.

`_next` asks for the first one missing ("What size would you like the
cheese pizza: small, medium or large?"); the answer applies to that line.
A short answer picks the option by its own words ("the short rib", "las
cortas", "鸡肉", see `choices`); a word that fits two options asks which of
those two. An item sold by the pack is counted in packs ("Chicken wings: 10
to an order. How many orders would you like?").
"""

from __future__ import annotations

from agi.dialogue import choices as C
from agi.dialogue import hints
from agi.dialogue import prompts as P
from agi.dialogue.nlu_text import plural_variants, tokenize
from agi.dialogue.numbers import parse_quantity
from agi.dialogue.packs import UNIT_WORDS, sold_as_packs
from agi.dialogue.parser import parse_order
from agi.dialogue.replies import Reply
from agi.tickets import LineModifier, OrderLine, Qualifier, modifier_price


class DetailsMixin:
    """Part of DialogueEngine: the questions about one line's size, options and count."""

    def _incomplete_line(self) -> tuple[int, str] | None:
        """The first line missing a size or a required option with no default."""
        for index, line in enumerate(self.state.lines):
            item = self.catalog.item(line.catalog_id)
            if item is None:
                continue
            default = item.variation(item.default_variation) if item.default_variation else None
            if len(item.variations) > 1 and line.variation_id is None and (default is None or not default.available):
                return index, "size"
            chosen = {m.catalog_id for m in line.modifiers}
            for group in self.catalog.groups_of(item):
                if group.min == 0 or any(o.default for o in group.options):
                    continue
                if group.id not in item.modifier_groups:
                    continue  # nested groups are asked once their parent is chosen
                if not chosen & {o.id for o in group.options}:
                    return index, group.id
            if any(line is u for u in self.state.uncounted):
                return index, "count"
        return None

    def _detail_question(self, index: int, what: str) -> str:
        lang = self.state.language
        line = self.state.lines[index]
        item = self.catalog.item(line.catalog_id)
        assert item is not None
        name = item.display_name(lang)
        if what == "count":
            if item.pack_size:
                key = "ask_packs" if sold_as_packs(item) else "ask_orders"
                return P.say(key, lang, item=name, size=item.pack_size)
            return P.say("ask_count", lang, item=self._plural_name(line, name))
        options = [self._choice_name(index, what, c.key) for c in self._detail_choices(index, what)]
        names = P.join_list(options, lang, "or")
        if what == "size":
            return P.say("ask_size", lang, item=name, options=names)
        group = self.catalog.group(what)
        assert group is not None
        return P.say("ask_option", lang, item=name, group=group.display_name(lang).lower(), options=names)

    def _detail_choices(self, index: int, what: str) -> list[C.Choice]:
        """The sizes or options of the question in the air: those still in stock, or the
        few a short answer fitted ("vanilla": vanilla bean or sugar free vanilla?)."""
        item = self.catalog.item(self.state.lines[index].catalog_id)
        if item is None:
            return []
        if what == "size":
            offered = [C.Choice(v.id, tuple(v.spoken_forms())) for v in item.variations if v.available]
        else:
            group = self.catalog.group(what)
            offered = [C.Choice(o.id, tuple(o.spoken_forms())) for o in group.options if o.available] if group else []
        narrowed = self.state.narrowed
        if narrowed is not None and narrowed[0] == f"detail:{index}:{what}":
            offered = [c for c in offered if c.key in narrowed[1]] or offered
        return offered

    def _choice_name(self, index: int, what: str, key: str) -> str:
        item = self.catalog.item(self.state.lines[index].catalog_id)
        assert item is not None
        found = item.variation(key) if what == "size" else self.catalog.modifier(item, key)
        if found is None:
            return key
        return (found if what == "size" else found[1]).display_name(self.state.language)  # type: ignore[union-attr]

    def _plural_name(self, line: OrderLine, name: str) -> str:
        """'large pepperoni pizzas': in English the line's size and name, its
        last word in the plural ('unidades de ...' and '份' need neither)."""
        if self.state.language != "en":
            return name
        words = name.split()
        plural = plural_variants(tuple(words))
        words = list(plural[0]) if plural else words
        return " ".join([line.variation_name.lower(), *words] if line.variation_name else words)

    def _detail_hints(self, index: int, what: str) -> tuple[str, ...]:
        if what == "count":
            return hints.counts(self.state.language)
        return tuple(self._choice_name(index, what, c.key) for c in self._detail_choices(index, what))

    def _answer_detail(self, norm: str, order: str) -> Reply | None:
        """The answer to 'what size?' / 'which sauce?' applies to that line."""
        st = self.state
        asked = self._detail_asked()
        if asked is None:
            return None
        index, what = asked
        if what == "count" and index < len(st.lines):
            return self._answer_count(index, order, norm)
        if index >= len(st.lines) or self.mentions(order, ("item",)):
            return None
        notes: list[str] = []
        # "three large" to "what size?": the number said first is how many
        tokens = tokenize(order)
        said = parse_quantity(tokens, 0)
        qty = said[0] if said is not None and said[0] > 1 and said[1] < len(tokens) else None
        picked = C.pick(order, self._detail_choices(index, what))
        if len(picked) > 1:
            # "the sea one" of sea salt and sea breeze: which of those two?
            st.narrowed = (st.asking or "", tuple(picked))
            return Reply(self._detail_question(index, what), hints=self._hints())
        changed = self._modify_line(index, order, notes, qty)
        if picked and self._incomplete_line() == (index, what):
            # Not said in full words: a short answer ("las cortas", "the short rib").
            notes = []  # one sentence says the line with all that was changed
            self._set_detail(index, what, picked[0], notes)
            changed = True
        if not changed:
            return None
        st.narrowed = None
        self._fill_slots(self._raw_text, norm, True, notes)  # "large, for pickup": the pickup counts too
        return self._next(lead=notes)

    def _set_detail(self, index: int, what: str, key: str, notes: list[str]) -> None:
        """The size or option picked by a short answer, on the line asked about."""
        st = self.state
        line = st.lines[index]
        item = self.catalog.item(line.catalog_id)
        assert item is not None
        if what == "size":
            v = item.variation(key)
            assert v is not None
            update = {"variation_id": v.id, "variation_name": v.name}
        else:
            group, mod = self.catalog.modifier(item, key)  # type: ignore[misc]
            chosen = LineModifier(catalog_id=mod.id, name=mod.name, group_id=group.id,
                                  price_minor=modifier_price(mod.price_delta, Qualifier.NORMAL))
            update = {"modifiers": self._merge_modifiers(item, line.modifiers, [chosen])}
        st.lines[index] = line.model_copy(update=update)
        st.touch(index)
        notes.append(
            P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip()
        )

    def _detail_asked(self) -> tuple[int, str] | None:
        """(line index, "size" / "count" / a group id) of the detail question in the air (`_next` sets it)."""
        asking = self.state.asking or ""
        if not asking.startswith("detail:"):
            return None
        _, index, what = asking.split(":", 2)
        return int(index), what

    def _answer_count(self, index: int, order: str, norm: str) -> Reply | None:
        """'three' / 'two of them' / 'two pepperoni pizzas' to 'how many?'.
        Asked once: any other answer is taken as words like any other, and
        the line keeps the one it was rung up with."""
        st = self.state
        line = st.lines[index]
        st.uncounted = [u for u in st.uncounted if u is not line]
        tokens = tokenize(order)
        # "a" is no answer to "how many?", but "an order" and "una orden" are one.
        qty = next((q[0] for i in range(len(tokens)) if (tokens[i] not in ("a", "an", "un", "una")
                    or tokens[i + 1 : i + 2] and tokens[i + 1] in UNIT_WORDS)
                    and (q := parse_quantity(tokens, i)) is not None), None)
        named = {m.item_id for m in self.mentions(order, ("item",))}
        if qty is None or qty < 1 or not named <= {line.catalog_id}:
            return None
        if named:
            # "twenty wings" to "how many orders?": counted in pieces again, rung up in packs.
            again = [p.line for p in parse_order(order, self.catalog, st.language).lines if p.line.catalog_id in named]
            qty = again[0].quantity if len(again) == 1 else qty
        refused = self._absurd_quantity(qty, line.name)
        if refused is not None:
            return refused
        st.lines[index] = line.model_copy(update={"quantity": qty})
        notes: list[str] = []
        self._fill_slots(self._raw_text, norm, True, notes)  # "two, for pickup"
        return self._next(lead=notes, added=[st.lines[index]])
