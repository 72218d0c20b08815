"""Swaps of one option for another inside an order phrase: part of the `_Parser` pass.

"swap the rice for lettuce", "substitute lettuce for rice", "lettuce instead of
rice", "米饭换成生菜": the option named new replaces the one named old on the
line, as a SWAP option that says what it replaces.
"""

from __future__ import annotations

from agi.dialogue.matcher import Mention
from agi.dialogue.nlu_drafts import Draft
from agi.dialogue.nlu_grammar import Tag
from agi.dialogue.nlu_labels import Label
from agi.tickets import Qualifier


class SwapsMixin:
    """Part of `parser._Parser`: the option swaps of the line being described."""

    def _swap_ahead(self, ev: Label) -> bool:
        """'swap X for Y': an option, a joining word, an option follow (else the word is no swap)."""
        want = 0
        for other in self.events:
            if other.start < ev.end or other.kind == "word":
                continue
            if want in (0, 2):
                if other.kind == "span" and other.mention is not None and other.mention.of_kind("modifier"):
                    if want == 2:
                        return True
                    want = 1
                    continue
                return False
            if other.kind == "tag" and other.tag in (Tag.SWAP_TO, Tag.WITH):
                want = 2
                continue
            return False
        return False

    def _last_was_opt(self, ev: Label) -> bool:
        """Whether the option last attached ends right before this event (fillers allowed)."""
        if self.last_opt is None:
            return False
        end = self.last_opt[1].mention.end
        for other in self.events:
            if end <= other.start < ev.start and other.kind != "word":
                return False
        return True

    def _on_swap(self, m: Mention) -> bool:
        """One option of a swap in progress; True when the mention was used by it."""
        swap = self.swap
        assert swap is not None
        verb = swap["verb"]
        self.instead = False
        if verb is Tag.INSTEAD:  # "lettuce instead of rice": the option just said replaces this one
            _draft, opt = swap["new"]
            opt.qualifier, opt.replaces = Qualifier.SWAP, m
            self.swap = None
            return True
        if verb is Tag.CHANGE_TO:  # "米饭换成生菜": the option just said is replaced by this one
            draft, old = swap["old"]
            if old in draft.opts:
                draft.opts.remove(old)
            self._attach_swap(draft, new=m, old=old.mention)
            return True
        if swap["first"] is None:
            swap["first"] = m
            return True
        first: Mention = swap["first"]
        # "substitute Y for X": Y is new; "swap X for Y", "substitute X with Y": X is replaced.
        new, old = (first, m) if verb is Tag.SUBSTITUTE and swap.get("joiner") == "for" else (m, first)
        line = self.cur if self.cur is not None and (self.cur.bound or not self.done) else None
        target = line or (self.done[-1] if self.done else self._new(m.start))
        self._attach_swap(target, new=new, old=old)
        return True

    def _attach_swap(self, draft: Draft, new: Mention, old: Mention) -> None:
        self.neg = False
        self.qual = None
        self._attach(draft, new)
        draft.opts[-1].qualifier = Qualifier.SWAP
        draft.opts[-1].replaces = old
        self.swap = None
