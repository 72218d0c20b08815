"""Order edits: new lines, removals, quantity and size corrections, swaps of
one item for another, options added to the line they belong to.
"""

from __future__ import annotations

import re
from typing import Any

import jellyfish
from rapidfuzz import fuzz

from agi.catalog import Item
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue.matcher import Mention
from agi.dialogue.nlu_result import Unavailable
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.packs import in_packs
from agi.dialogue.parser import parse_order
from agi.dialogue.replies import Reply
from agi.dialogue.state import Pending, PendingKind
from agi.tickets import (
    LineModifier,
    OrderLine,
    Qualifier,
)

_ARTICLES = frozenset({"a", "an", "the", "un", "una", "el", "la", "los", "las"})
# "make that a latte", "no, make it a latte", "actually change it to a latte": the item named replaces one like it.
_MAKE_THAT = re.compile(
    r"^(?:no |actually |oh )?(?:make (?:that|it)|change (?:that|it) to|switch (?:that|it) to)\b"
    r"|^(?:no )?(?:mejor|que sea|cámbialo (?:a|por)|cambialo (?:a|por))\b|^(?:换成|改成|改为)"
)


_FOR_ALL = re.compile(r"\b(?:both|each|all of them|both of them|all of those|los dos|las dos|ambos|ambas|cada uno)\b|都")


def _sounds_like_name(word: str, name: str) -> bool:
    """'mocho' for mocha: a word of the name spelled nearly alike, or alike in sound."""
    for part in tokenize(name.lower()):
        if len(part) >= 4 and (fuzz.ratio(word, part) >= 75 or jellyfish.metaphone(word) == jellyfish.metaphone(part)):
            return True
    return False


class EditsMixin:
    """Part of DialogueEngine: everything that changes `state.lines`."""

    # ------------------------------------------------------------ edits

    def _edit(self, norm: str, notes: list[str]) -> bool:
        """Removals and corrections of lines already on the order."""
        st = self.state
        lang = st.language
        if not st.lines:
            return False
        mentions = self.mentions(norm, ("item",))
        in_order = [m for m in mentions if any(line.catalog_id == m.item_id for line in st.lines)]
        removing = lexicon.contains(norm, lexicon.REMOVE[lang]) or lexicon.contains(norm, lexicon.REMOVE["en"])
        changing = lexicon.contains(norm, lexicon.CHANGE[lang]) or lexicon.contains(norm, lexicon.CHANGE["en"])

        # "not a mocha, a latte", "a latte, not the mocha": the line named after "not" becomes the other item
        old_id = next((m.item_id for m in in_order if self._negated(norm, m, on_order=True)), None)
        if old_id is None and len(mentions) == 1:
            old_id = self._misheard_line_after_not(norm, mentions)
        if old_id is not None:
            new = next((m for m in mentions if m.item_id != old_id and not self._negated(norm, m)), None)
            if new is not None:
                return self._replace_item(old_id, new, norm, notes)

        # "change the coke to a sprite", "swap the coke for a sprite", "a sprite instead of the coke"
        if changing and len(mentions) >= 2 and in_order:
            old = in_order[0]
            if "instead of" in norm or "en vez de" in norm or "en lugar de" in norm:
                old = in_order[-1]
            new = next((m for m in mentions if m is not old and m.item_id != old.item_id), None)
            if new is not None:
                return self._replace_item(old.item_id, new, norm, notes)

        # "change the pepperoni to a veggie pizza": the old line named by a word of its item
        new_only = [m for m in mentions if m not in in_order]
        if changing and len(new_only) == 1 and not in_order:
            before = " ".join(tokenize(norm)[: new_only[0].start])
            index = self._line_named_by(before)
            if index is None and _MAKE_THAT.match(norm):
                index = self._line_like(new_only[0].item_id)  # "make that a latte" after "a large mocha"
            if index is not None and st.lines[index].catalog_id != new_only[0].item_id:
                return self._replace_item(st.lines[index].catalog_id, new_only[0], norm, notes)

        if removing and in_order and not (changing and len(mentions) >= 2):
            gone = [line for line in st.lines if any(line.catalog_id == m.item_id for m in in_order)]
            st.lines = [line for line in st.lines if line not in gone]
            st.last_line = None
            names = P.join_list([self._describe(line) for line in gone], lang)
            notes.append(P.say("removed", lang, items=names, next="").strip())
            return True
        if (
            removing
            and not mentions
            and re.search(r"\b(that|it|the last one|eso|那个)\b", norm)
            and not self.mentions(norm)
        ):
            line = st.last()
            if line is not None:
                st.lines.remove(line)
                st.last_line = None
                notes.append(P.say("removed", lang, items=self._describe(line), next="").strip())
                return True

        other = self.mentions(norm, ("variation", "modifier"))
        target = self._line_for(in_order, norm)
        if not in_order and other:
            fitting = self._line_accepting(other)
            target = fitting if fitting is not None else target
        if target is None:
            return False
        # "make that three", "actually two of those", "make the wings two"
        qty = self._quantity_in(norm, exclude_mentions=mentions + other)
        if (changing or norm.startswith(("no ", "actually", "oh "))) and qty is not None and not other:
            if len(mentions) <= 1:
                return self._set_quantity(target, qty, notes, in_pieces=bool(in_order))
        # "actually large", "make it a large", "add mushrooms to that", "no onions on the pizza"
        if other and (not mentions or in_order) and (changing or in_order or self._orphans_only(norm, mentions)):
            return self._modify_line(target, norm, notes, qty if changing else None)
        return False

    def _orphans_only(self, norm: str, item_mentions: list[Any]) -> bool:
        """Modifiers or a size said with no item: they belong to the last line."""
        return not item_mentions and not parse_order(norm, self.catalog, self.state.language).lines

    def _line_for(self, in_order: list[Any], norm: str) -> int | None:
        """The line a correction is about: named, or named by a generic word
        ("make that three pizzas" -> the pizza line), else the last one."""
        st = self.state
        if in_order:
            for i in range(len(st.lines) - 1, -1, -1):
                if st.lines[i].catalog_id == in_order[0].item_id:
                    return i
        named = self._line_named_by(norm)
        if named is not None:
            return named
        if st.last() is None:
            return None
        return st.lines.index(st.last())  # type: ignore[arg-type]

    def _line_accepting(self, mentions: list[Mention]) -> int | None:
        """The latest line named by a word, else the latest whose item takes
        one of these sizes or options ("actually large" after "...and a coke")."""
        st = self.state
        for i in range(len(st.lines) - 1, -1, -1):
            item_id = st.lines[i].catalog_id
            for m in mentions:
                for t in m.candidates:
                    if t.item_id == item_id or (
                        t.kind == "modifier"
                        and t.modifier_id
                        and self.matcher().accepts_modifier(item_id, t.modifier_id)
                    ):
                        return i
        return None

    def _negated(self, norm: str, mention: Mention, on_order: bool = False) -> bool:
        """Whether the caller said "not" right before this item ("not a mocha", "no el moca")."""
        tokens = tokenize(norm)
        i = mention.start - 1
        while i >= 0 and tokens[i] in _ARTICLES:
            i -= 1
        if i >= 1 and tokens[i - 1] + tokens[i] in ("不是", "不要"):  # 不是摩卡: Chinese runs are characters
            return True
        # A leading "no" answers the bot ("no, a latte") unless the item it
        # names is on the order ("no el moca, un latte").
        return i >= 0 and (tokens[i] == "not" or (tokens[i] == "no" and (i > 0 or on_order)))

    def _misheard_line_after_not(self, norm: str, mentions: list[Mention]) -> str | None:
        """The item of the one order line that "not the mocho" names, the word after
        "not" being the recogniser's spelling of a name the bot just said back:
        close in spelling or sound to a word of that line's item, and to no other's."""
        tokens = tokenize(norm)
        taken = {i for m in mentions for i in range(m.start, m.end)}
        for i, token in enumerate(tokens[:-1]):
            if token != "not":
                continue
            j = i + 1
            while j < len(tokens) - 1 and tokens[j] in _ARTICLES:
                j += 1
            word = tokens[j]
            if j in taken or len(word) < 4:
                continue
            close = {line.catalog_id for line in self.state.lines if _sounds_like_name(word, line.name)}
            if len(close) == 1:
                return close.pop()
        return None

    def _line_like(self, item_id: str | None) -> int | None:
        """The latest line of the same kind (category) as this item."""
        item = self.catalog.item(item_id) if item_id else None
        if item is None:
            return None
        for i in range(len(self.state.lines) - 1, -1, -1):
            other = self.catalog.item(self.state.lines[i].catalog_id)
            if other is not None and other.category == item.category:
                return i
        return None

    def _line_named_by(self, words_text: str) -> int | None:
        """The latest line whose item name or category shares a word with the text."""
        st = self.state
        words = {w.rstrip("s") for w in tokenize(words_text)} - {"", "the", "a", "that", "it", "make", "change"}
        for i in range(len(st.lines) - 1, -1, -1):
            item = self.catalog.item(st.lines[i].catalog_id)
            if item is None:
                continue
            generic = {w.rstrip("s") for w in tokenize(f"{item.name} {item.category}")} - {""}
            if words & generic:
                return i
        return None

    def _quantity_in(self, norm: str, exclude_mentions: list[Any]) -> int | None:
        tokens = tokenize(norm)
        spans = {i for m in exclude_mentions for i in range(m.start, m.end)}
        for i, tok in enumerate(tokens):
            if i in spans:
                continue
            if tok in ("a", "an", "one", "una", "un", "uno") and not re.search(
                r"\b(make (?:that|it) (?:one|just one)|just one|solo uno|solo una"
                r"|que sea (?:uno|una|solo uno|solo una))\b", norm
            ):
                continue
            n = int(tok) if tok.isdigit() else S.words_to_number(tok)
            if n is not None and 0 < n < 1000:
                return n
        if lexicon.has_cjk(norm):
            m = re.search(r"([一二两三四五六七八九十\d]+)\s*[个份杯瓶张]", norm)
            if m:
                return S.words_to_number(m.group(1))
        return None

    def _set_quantity(self, index: int, qty: int, notes: list[str], in_pieces: bool = False) -> bool:
        """A new count for a line; `in_pieces` when the item was named with it ("make it twenty wings"),
        so an item sold by the pack is counted in packs, or asked about."""
        st = self.state
        item = self.catalog.item(st.lines[index].catalog_id)
        pieces = None
        if in_pieces and item is not None:
            qty, pieces = in_packs(item, qty, tokenize(self._raw_text.lower()))
        if qty > self.pb.ticket.max_quantity:
            return False
        st.lines[index] = st.lines[index].model_copy(update={"quantity": qty})
        st.touch(index)
        if pieces:
            st.uncounted.append(st.lines[index])
        notes.append(
            P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip()
        )
        return True

    def _modify_line(self, index: int, norm: str, notes: list[str], qty: int | None = None) -> bool:
        """Re-read the words as if said with the line's item, then merge."""
        st = self.state
        line = st.lines[index]
        item = self.catalog.item(line.catalog_id)
        if item is None:
            return False
        update: dict[str, Any] = {}
        for m in self.mentions(norm, ("variation",)):
            v = next((item.variation(vid) for t in m.candidates if (vid := self.matcher().size_named_like(item.id, t))),
                     None)
            if v is not None and v.id != line.variation_id:
                update["variation_id"], update["variation_name"] = v.id, v.name
        said = [t for t in tokenize(norm) if t not in ("make", "it", "that", "actually", "change")]
        while said and said[0] in ("a", "an", "the"):
            said = said[1:]  # "mocha a medium with oat milk" reads as a second, itemless line
        words = " ".join(said)
        result = parse_order(f"{item.name} {words}", self.catalog, st.language)
        parsed = next((p.line for p in result.lines if p.line.catalog_id == line.catalog_id), None)
        if (
            parsed is not None
            and parsed.variation_id
            and "variation_id" not in update
            and parsed.variation_id != line.variation_id
            # the parse fills in the default size when none is said: "make
            # that oat milk" on a large mocha keeps it large
            and parsed.variation_id != item.default_variation
        ):
            update["variation_id"], update["variation_name"] = parsed.variation_id, parsed.variation_name
        if parsed is not None and parsed.modifiers:
            update["modifiers"] = self._merge_modifiers(item, line.modifiers, parsed.modifiers)
        if qty is not None:
            update["quantity"] = qty
        if not update:
            return False
        st.lines[index] = line.model_copy(update=update)
        st.touch(index)
        notes.append(
            P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip()
        )
        return True

    def _merge_modifiers(self, item: Item, old: list[LineModifier], new: list[LineModifier]) -> list[LineModifier]:
        """New choices win; in a pick-one group (max 1) they replace the old one.

        A "no" takes an option off: "take off the whipped cream" leaves no
        whipped cream on the line and no "no whipped cream" either, since it
        was an extra; only an option that comes unless refused ("no cheese")
        is kept as a "no". "No oat milk, just regular milk": the milk chosen
        replaces the one refused, so the "no" says nothing more."""
        merged = {m.catalog_id: m for m in old}
        chosen_groups = {m.group_id for m in new if m.qualifier is not Qualifier.NO and m.group_id}
        for m in new:
            found = self.catalog.modifier(item, m.catalog_id)
            if m.qualifier is Qualifier.NO and found is not None:
                group, option = found
                was = merged.get(m.catalog_id)
                if (was is not None and was.qualifier is not Qualifier.NO and not option.default) or (
                    group.max == 1 and group.id in chosen_groups
                ):
                    merged.pop(m.catalog_id, None)
                    continue
            if found is not None and found[0].max == 1 and m.qualifier is not Qualifier.NO:
                for other in [o.id for o in found[0].options if o.id != m.catalog_id]:
                    merged.pop(other, None)
            merged[m.catalog_id] = m
        return list(merged.values())

    def _replace_item(self, old_id: str, new: Any, norm: str, notes: list[str]) -> bool:
        st = self.state
        index = next(i for i in range(len(st.lines) - 1, -1, -1) if st.lines[i].catalog_id == old_id)
        old = st.lines[index]
        item = self.catalog.item(new.item_id)
        if item is None:
            return False
        if not item.available:
            notes.append(self._unavailable_text(item))
            return True
        said = self._same_size(item, norm)
        # The size said now, else the old line's size by name ("large" mocha -> "large" latte), else the default.
        kept_size = next((x.id for x in item.variations if old.variation_name and x.name == old.variation_name), None)
        variation = new.variation_id or (said.id if said else None) or kept_size or item.default_variation
        v = item.variation(variation)
        # The options the caller chose stay where the new item takes them:
        # a mocha with oat milk made a latte is a latte with oat milk.
        kept = [m for m in old.modifiers if self.matcher().accepts_modifier(item.id, m.catalog_id)]
        st.lines[index] = OrderLine(
            catalog_id=item.id,
            name=item.name,
            quantity=old.quantity,
            variation_id=v.id if v else None,
            variation_name=v.name if v else None,
            modifiers=kept,
        )
        st.touch(index)
        notes.append(
            P.say("changed", st.language, line=self._describe(self._priced_line(st.lines[index])), next="").strip()
        )
        return True

    # ------------------------------------------------------------ new items

    def _add_items(self, text: str, norm: str, notes: list[str]) -> tuple[list[OrderLine], Reply | None]:
        st = self.state
        lang = st.language
        result = parse_order(text, self.catalog, lang)
        for p in result.lines:
            refused = self._absurd_quantity(p.line.quantity, p.line.name)
            if refused is not None:
                return [], refused
        sure = self._options_for_all([p.line for p in result.lines if not p.needs_confirmation], norm)
        unsure = [p.line for p in result.lines if p.needs_confirmation]
        out_of: list[str] = []
        for un in result.unavailable:
            if un.kind != "item":
                # An 86'd size or option: say so; the line is confirmed without it.
                out_of.append(self._display_name(un))
                on = [line for line in sure if line.catalog_id == un.on_item]
                unsure += on
                sure = [line for line in sure if line not in on]
        if out_of:
            notes.append(P.say("out_of", lang, names=P.join_list(out_of, lang)))
        self._append(sure)
        # "pepperoni pizzas", "half a dozen wings" (ten to an order): asked how many.
        st.uncounted += [p.line for p in result.lines
                         if (p.count_unsaid or p.pieces) and any(p.line is line for line in sure)]
        for un in result.unavailable:
            item = self._unavailable_item(un)
            if item is None:
                continue
            alt = self._alternative(item)
            notes.append(self._unavailable_text(item, alt))
            if alt is not None:
                # The size and options said for the item that is out stay where the alternative takes them:
                # "an iced matcha latte" offered as a chai latte is an iced chai latte.
                v = next((x for x in alt.variations if x.name == un.variation_name and x.available), None)
                v = v or alt.variation(alt.default_variation)
                if v is None and alt.variations:
                    v = alt.variations[0] if len(alt.variations) == 1 else None
                line = OrderLine(
                    catalog_id=alt.id,
                    name=alt.name,
                    quantity=un.quantity or 1,
                    variation_id=v.id if v else None,
                    variation_name=v.name if v else None,
                    modifiers=[m for m in un.modifiers if self.matcher().accepts_modifier(alt.id, m.catalog_id)],
                )
                st.pending = Pending(PendingKind.ALTERNATIVE, [line])
                return sure, None
        if unsure:
            st.pending = Pending(PendingKind.GUESS, unsure)
            described = P.join_list([self._describe(self._priced_line(line)) for line in unsure], lang)
            notes.append(P.say("still_want" if out_of else "confirm_guess", lang, item=described))
            return sure, None
        if result.partial and not result.lines:
            notes.append(self._ask_which(result.partial[0]))
        return sure, None

    def _options_for_all(self, lines: list[OrderLine], norm: str) -> list[OrderLine]:
        """'a frame and a puzzle, both gift wrapped': an option said once for all the lines
        just ordered goes on each line that takes it."""
        if len(lines) < 2 or not _FOR_ALL.search(norm):
            return lines
        said = {m.catalog_id: m for line in lines for m in line.modifiers}
        out = []
        for line in lines:
            have = {m.catalog_id for m in line.modifiers}
            extra = [
                m for key, m in said.items()
                if key not in have and self.matcher().accepts_modifier(line.catalog_id, key)
            ]
            out.append(line.model_copy(update={"modifiers": [*line.modifiers, *extra]}) if extra else line)
        return out

    def _ask_which(self, partial: Any) -> str:
        """'a large pizza with mushrooms' on a menu of five pizzas: which one?"""
        options: list[OrderLine] = []
        for item_id in partial.candidates:
            item = self.catalog.item(item_id)
            if item is None or not item.available:
                continue
            v = next((v for v in item.variations if partial.variation_name and v.name == partial.variation_name), None)
            options.append(OrderLine(catalog_id=item.id, name=item.name, quantity=partial.quantity,
                                     variation_id=v.id if v else None, variation_name=v.name if v else None,
                                     modifiers=list(partial.modifiers)))
        return self._ask_which_of(options)

    def _absurd_quantity(self, quantity: int, name: str) -> Reply | None:
        """'500 pizzas': no such order is taken over the phone (the Playbook's max_quantity)."""
        if quantity > self.pb.ticket.max_quantity:
            return self._refuse(f"absurd quantity: {quantity} x {name}", "refuse_quantity")
        return None

    def _append(self, lines: list[OrderLine]) -> None:
        st = self.state
        for line in lines:
            st.lines.append(line)
            st.touch(len(st.lines) - 1)

    def _same_size(self, item: Item, norm: str) -> Any:
        """The variation of `item` named like a size the caller said."""
        for m in self.mentions(norm, ("variation",)):
            said = {
                self.catalog.item(t.item_id).variation(t.variation_id).name.lower()  # type: ignore[union-attr]
                for t in m.candidates
                if t.item_id and t.variation_id and self.catalog.item(t.item_id)
            }
            for v in item.variations:
                if v.name.lower() in said:
                    return v
        return None

    def _display_name(self, un: Unavailable) -> str:
        """The name of an 86'd size or option in the caller's language."""
        item = self.catalog.item(un.on_item or "")
        if item is not None:
            if un.kind == "variation":
                named = item.variation(un.catalog_id)
            else:
                found = self.catalog.modifier(item, un.catalog_id)
                named = found[1] if found else None
            if named is not None:
                return named.display_name(self.state.language)
        return un.name

    def _unavailable_item(self, un: Any) -> Item | None:
        item_id = getattr(un, "item_id", None) or getattr(un, "catalog_id", None)
        if item_id:
            return self.catalog.item(item_id)
        return None

    def _unavailable_text(self, item: Item, alt: Item | None = None) -> str:
        lang = self.state.language
        alternative = P.say("alternative", lang, name=alt.display_name(lang)) if alt else ""
        return P.say("unavailable", lang, name=item.display_name(lang), alternative=alternative)

    def _alternative(self, item: Item) -> Item | None:
        """An available item of the same category: the one whose name shares
        the most words ("tablet screen replacement" -> "phone screen
        replacement"), then the closest in price."""
        price = item.base_price()
        same = [i for i in self.catalog.items if i.category == item.category and i.available and i.id != item.id]
        if not same:
            return None
        words = set(tokenize(item.name.lower()))
        common = set.intersection(*(set(tokenize(i.name.lower())) for i in same + [item]))

        def closeness(other: Item) -> tuple[int, int]:
            shared = len((words & set(tokenize(other.name.lower()))) - common)
            return (-shared, abs(other.base_price() - price))

        return min(same, key=closeness)
