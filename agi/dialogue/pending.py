"""Answers to the bot's own short questions: "Is 555 ... the best number?",
"Which one would you like: ...?", "Would you like the veggie pizza instead?",
"Would you still like 1 large mocha?", an upsell offer.

Callers answer these with more than yes or no. After an item is out:
"just the padlock then" keeps the order as it is (never a second padlock);
"no, make it a pepperoni instead" takes that item with the size and options
already said. After an option is out ("we're out of coconut milk, would you
still like 1 large mocha?"): "oat is fine", "the steak then", "那就鸡肉吧" put
that option on the line. To "which one?": a word only one choice has picks it,
a word two choices share asks which of those two, and "that's all" moves on.
"""

from __future__ import annotations

import re
from typing import Any

from agi.dialogue import choices as C
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue import slots as S
from agi.dialogue.nlu_result import ParsedLine
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import parse_quantity
from agi.dialogue.parser import parse_order
from agi.dialogue.replies import Reply
from agi.dialogue.state import Pending, PendingKind
from agi.tickets import OrderLine

# The yes or no that opens an answer ("no, make it a pepperoni instead"): not part of what is ordered.
_YES_NO_FIRST = re.compile(
    r"^(?:(?:no thanks|no thank you|no|nope|nah|yes|yeah|yep|sure|ok|okay|oh|um|uh|hmm|well|actually|sí|si|vale"
    r"|bueno|mejor)\b\s*)+"
)

_YES_FIRST = re.compile(r"^(?:yes|yeah|yep|sure|ok|okay|sí|si|claro|vale|好的|好|可以|行)\b")


class PendingMixin:
    """Part of DialogueEngine: the answer to a question in flight (`state.pending`)."""

    def _answer_pending(self, norm: str, order: str, yes: bool, no: bool) -> Reply | None:
        """The answer to the yes/no (or which-one) question in flight; `order` is the
        turn without its times, addresses and numbers of other things."""
        st = self.state
        pending = st.pending
        assert pending is not None
        if pending.kind == PendingKind.CONFIRM_CALLER:  # words are no key press
            return self._confirm_again()
        if pending.kind == PendingKind.CALLERID:
            if yes or lexicon.contains(norm, lexicon.CALLER_ID_OK[st.language]):
                st.pending = None
                st.slots["phone"] = self.caller
                return self._next()
            phone = self._phone_number(S.parse_phone(norm))
            st.pending = None
            if phone:
                st.slots["phone"] = phone
                return self._next()
            if no:
                st.asking = "phone"
                st.callerid_declined = True
                return Reply(P.say("ask_phone", st.language))
            return None
        if pending.kind == PendingKind.WHICH:
            return self._answer_which(order, pending.lines, no)
        if pending.kind == PendingKind.SERVICE and yes and not self._has_content(norm):
            st.pending = None
            slot_id, service_id = (pending.rule_id or "=").split("=", 1)
            st.slots[slot_id] = service_id
            return self._next()
        if pending.kind in (PendingKind.ALTERNATIVE, PendingKind.GUESS) and not ((yes or no) and not self._has_content(norm)):
            reply = self._answer_offer(_YES_NO_FIRST.sub("", order), pending, yes)
            if reply is not None:
                return reply
        if pending.kind in (PendingKind.ALTERNATIVE, PendingKind.GUESS, PendingKind.UPSELL) and _YES_FIRST.match(norm) and self._has_content(norm):
            return self._yes_and(order, pending)
        if yes and not self._has_content(norm):
            st.pending = None
            if pending.kind == PendingKind.UPSELL:
                self._append(pending.lines)
                return self._next(lead=[P.say("upsell_added", st.language, next="").strip()])
            self._append(pending.lines)
            return self._next(added=pending.lines)
        if no and not self._has_content(norm):
            st.pending = None
            return self._next()
        st.pending = None  # anything else moves on; the new words are handled normally
        return None

    # ------------------------------------------------------------ which one?

    def _answer_which(self, norm: str, options: list[OrderLine], no: bool) -> Reply | None:
        st = self.state
        st.pending = None
        parsed = parse_order(norm, self.catalog, st.language).lines
        merged = self._merge_which(parsed, options)
        if merged is not None:
            self._append([merged])
            return self._next(added=[merged])
        if parsed:
            return None  # a whole new order line: handled as such
        offered = [C.Choice(o.catalog_id, tuple(self._item_forms(o))) for o in options]
        picked = C.pick(norm, offered)
        if len(picked) == 1:
            line = next(o for o in options if o.catalog_id == picked[0])
            self._append([line])
            return self._next(added=[line])
        if picked:
            return Reply(self._ask_which_of([o for o in options if o.catalog_id in picked]), hints=self._hints())
        if no or lexicon.contains(norm, lexicon.DONE[st.language]) or lexicon.contains(norm, lexicon.DONE["en"]):
            return self._next()  # "that's all": not this line, and no dead end either
        return None

    def _item_forms(self, line: OrderLine) -> list[str]:
        item = self.catalog.item(line.catalog_id)
        return item.spoken_forms() if item is not None else [line.name]

    def _ask_which_of(self, options: list[OrderLine]) -> str:
        """'Which one would you like: ...?' of these lines, and the answer awaited."""
        lang = self.state.language
        self.state.pending = Pending(PendingKind.WHICH, options)
        names = []
        for option in options[:6]:
            item = self.catalog.item(option.catalog_id)
            names.append(item.display_name(lang) if item is not None else option.name)
        return P.say("which_one", lang, options=P.join_list(names, lang, "or"))

    def _merge_which(self, parsed: list[ParsedLine], options: list[OrderLine]) -> OrderLine | None:
        """'two pepperoni' after 'a large one, please' and 'which one?': the item is picked and
        the size and options already said stay; a number said now is the quantity."""
        if len(parsed) != 1:
            return None
        said = parsed[0].line
        option = next((o for o in options if o.catalog_id == said.catalog_id), None)
        if option is None:
            return None
        return self._keep_said(said, option)

    def _keep_said(self, said: OrderLine, before: OrderLine) -> OrderLine:
        """`said` with the size, options and quantity said earlier where it takes them and
        nothing said now replaces them."""
        item = self.catalog.item(said.catalog_id)
        default = item.default_variation if item is not None else None
        update: dict[str, Any] = {"quantity": said.quantity if said.quantity > 1 else before.quantity,
                                  "confidence": min(before.confidence, said.confidence)}
        if said.variation_id and (said.variation_id != default or not before.variation_id):
            update["variation_id"], update["variation_name"] = said.variation_id, said.variation_name
        elif item is not None and before.catalog_id != said.catalog_id:
            v = next((v for v in item.variations if before.variation_name and v.name == before.variation_name), None)
            update["variation_id"], update["variation_name"] = (v.id, v.name) if v else (
                said.variation_id, said.variation_name)
        kept = [m for m in before.modifiers if self.matcher().accepts_modifier(said.catalog_id, m.catalog_id)]
        taken = {(m.catalog_id, m.qualifier) for m in kept}
        update["modifiers"] = [*kept, *(m for m in said.modifiers if (m.catalog_id, m.qualifier) not in taken)]
        return before.model_copy(update={"catalog_id": said.catalog_id, "name": said.name, **update})

    def _yes_and(self, norm: str, pending: Pending) -> Reply | None:
        """'sure, add a coke' to "Would you like to add a coke?": the offer, once. 'sure, and a
        salad': the offer is taken and the rest is heard like any other words."""
        st = self.state
        st.pending = None
        offered = {line.catalog_id for line in pending.lines}
        named = {m.item_id for m in self.mentions(norm, ("item",))}
        if named and named <= offered:
            said = parse_order(norm, self.catalog, st.language).lines
            lines = [self._keep_said(p.line, o) for o in pending.lines for p in said
                     if p.line.catalog_id == o.catalog_id]
            lines = lines if len(lines) == len(pending.lines) else pending.lines
            self._append(lines)
            return self._next(added=lines)
        if not named & offered:
            self._append(pending.lines)
        return None  # "sure, a coke and a salad": every item said is ordered as said

    # ------------------------------------------------------------ after something is out

    def _answer_offer(self, words: str, pending: Pending, yes: bool) -> Reply | None:
        """An answer with words in it to "Would you like X instead?" (an item was out) or
        "Would you still like ...?" (a size or option was out, or a guess read back)."""
        st = self.state
        items = self.mentions(words, ("item",))
        counted = any(
            t not in ("a", "an", "un", "una", "one", "uno") and parse_quantity(tokenize(words), i) is not None
            for i, t in enumerate(tokenize(words))
        )
        on_order = {line.catalog_id for line in st.lines} - {line.catalog_id for line in pending.lines}
        if items and not counted and all(m.item_id in on_order or self._names_a_line(m.text, on_order) for m in items):
            st.pending = None  # "just the padlock then": the order as it is, nothing offered added
            return self._next()
        if pending.kind == PendingKind.ALTERNATIVE and len(pending.lines) == 1:
            return self._other_instead(words, pending.lines[0], yes)
        if pending.kind == PendingKind.GUESS and len(pending.lines) == 1 and not items:
            return self._guess_with(words, pending.lines[0])
        return None

    def _names_a_line(self, said: str, on_order: set[str]) -> bool:
        """'the croissant' for the chocolate croissant on the order: every word said is a
        word of that line's name (and of no other line's)."""
        words = set(tokenize(said))
        named = [i for i in on_order if (item := self.catalog.item(i)) is not None and words <= set(tokenize(item.name))]
        return len(named) == 1

    def _other_instead(self, words: str, offered: OrderLine, yes: bool) -> Reply | None:
        """'no, make it a pepperoni instead': that item, with the size and options said for
        the one that was out. Another kind of thing ("sure, and a coke") is an order of its own."""
        st = self.state
        result = parse_order(words, self.catalog, st.language)
        sure = [p.line for p in result.lines if not p.needs_confirmation]
        if len(sure) != 1 or result.partial or result.unavailable:
            return None
        said = sure[0]
        was, now = self.catalog.item(offered.catalog_id), self.catalog.item(said.catalog_id)
        same_kind = was is not None and now is not None and was.category == now.category
        if yes and not same_kind:
            return None
        line = self._keep_said(said, offered) if same_kind else said
        st.pending = None
        self._append([line])
        return self._next(added=[line])

    def _guess_with(self, words: str, offered: OrderLine) -> Reply | None:
        """'oat is fine', 'the steak then', '那就鸡肉吧' to "Would you still like 1 ...?":
        the line offered, with the size or option just said."""
        st = self.state
        st.lines.append(offered)
        index = len(st.lines) - 1
        if self._modify_line(index, words, []) or self._pick_on_line(index, words):
            st.pending = None
            st.touch(index)
            return self._next(added=[st.lines[index]])
        st.lines.pop()
        return None

    def _pick_on_line(self, index: int, words: str) -> bool:
        """A short answer naming one size or option of the line's item ("鸡肉" for 烤鸡肉)."""
        item = self.catalog.item(self.state.lines[index].catalog_id)
        if item is None:
            return False
        offered = [C.Choice(v.id, tuple(v.spoken_forms())) for v in item.variations if v.available]
        offered += [C.Choice(o.id, tuple(o.spoken_forms())) for g in self.catalog.groups_of(item)
                    for o in g.options if o.available]
        picked = C.pick(words, offered)
        if len(picked) != 1:
            return False
        found = self.catalog.modifier(item, picked[0])
        self._set_detail(index, "size" if found is None else found[0].id, picked[0], [])
        return True
