"""How the words of a turn are read: once per turn into an `Utterance`, and the
questions every step asks of them (is it a yes, a no, a value for a slot, words
for the order).

A number counts something only by the words around it, so the words for the
order leave out the turn's times, addresses, phone numbers, counts of a unit
and days (see `spans`), and "make it eight" goes to what the caller changed
last (`state.focus`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agi.dialogue import lexicon
from agi.dialogue.names import name_span
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.numbers import words_to_number
from agi.dialogue.spans import Span, SpanKind, find_spans, masked
from agi.playbook import SlotSpec


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller turn, read once: as said, normalised for the slots, and the words
    left for the order; and whether it says yes or no."""

    text: str
    norm: str  # for the slots: a menu name that reads like a time is left out
    order: str  # for the order: times, addresses, phone numbers, counts and days left out
    yes: bool
    no: bool

    @property
    def asks(self) -> bool:
        """Said with a question mark (a recogniser's or a texter's)."""
        return self.text.rstrip().endswith(("?", "？"))


class ReadingMixin:
    """Part of DialogueEngine: what the words of a turn say."""

    def _utterance(self, text: str) -> Utterance:
        norm = lexicon.normalise(text)
        order, slot_norm = self._order_words(norm)
        return Utterance(text, slot_norm, order, self._is_yes(norm), self._is_no(norm))

    def _answers_slot(self, spec: SlotSpec | None, text: str, norm: str) -> bool:
        """Whether the words are an answer to this slot's question (a trial read)."""
        return (
            spec is not None
            and spec.type in ("address", "phone", "name", "time", "date", "datetime", "number")
            and self.trial()._extract(spec, text, norm, True, []) is not None
        )

    _CHANGE_A_VALUE = re.compile(
        r"^(?:no |oh |wait |sorry |um |uh )*(?:actually |make (?:it|that) |change (?:it|that) to |how about |what about "
        r"|let's say |let's do |can we do |mejor |que sea |mejor a las |改成|改到|换成)|\binstead\b|\brather\b"
    )

    def _focus_slot(self, order: str) -> SlotSpec | None:
        """The time, day or count the caller changed last, when this turn changes it
        again with a bare number ("actually make it eight instead") and names nothing
        on the menu: that number is the slot's, not a quantity of the last line."""
        st = self.state
        spec = self._slot_spec(st.focus)
        if spec is None or spec.type not in ("time", "datetime", "number"):
            return None
        if not self._CHANGE_A_VALUE.search(order) or self.mentions(order):
            return None
        if not any(t.isdigit() or words_to_number(t) is not None for t in tokenize(order) if t not in ("a", "an")):
            return None  # "can we do three nights instead?" says its own unit
        return spec

    def _is_menu_word(self, word: str) -> bool:
        return bool(self.matcher().find(word))

    def _order_words(self, norm: str) -> tuple[str, str]:
        """(the words for the order, the words for the slots) of a turn. The order's
        leave out its times, addresses, phone numbers, counts of a unit and days; the
        slots' leave out a menu name that reads like one of those ("a five by seven
        picture frame" is neither seven frames nor a time)."""
        spans = find_spans(norm, self._is_menu_word)
        name = name_span(norm, self.state.language)
        if name is not None:  # "soy Ana" orders no soy milk
            spans.append(Span(SpanKind.NAME, *name))
        if not spans:
            return norm, norm
        named = {m.text for m in self.mentions(norm)}
        values, menu = [], []
        for span in spans:
            if span.kind is not SpanKind.TIME:
                values.append(span)
                continue
            lost = named - {m.text for m in self.mentions(masked(norm, [span]))}
            words = set(norm[span.start : span.end].split())
            (menu if any(words & set(name.split()) for name in lost) else values).append(span)
        return masked(norm, values), masked(norm, menu) if menu else norm

    def _is_yes(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.YES[lang]) or lexicon.contains(norm, lexicon.YES["en"])) and not (
            norm.startswith("no ") or norm == "no"
        )

    def _is_no(self, norm: str) -> bool:
        lang = self.state.language
        return bool(lexicon.contains(norm, lexicon.NO[lang]) or lexicon.contains(norm, lexicon.NO["en"]))

    def _is_request(self, norm: str) -> bool:
        """A polite order ("can I get a salad?") with something orderable in it."""
        lang = self.state.language
        said = lexicon.contains(norm, lexicon.REQUEST[lang]) or lexicon.contains(norm, lexicon.REQUEST["en"])
        return bool(said) and bool(self.mentions(norm))

    def _has_content(self, norm: str) -> bool:
        """Does a yes/no answer also carry items, slot values or edits ("no wait, make it
        the morning", "yes, and a coke")?"""
        if self.mentions(norm):
            return True
        return self._says_a_value(norm)

    def _says_a_value(self, norm: str) -> bool:
        """Whether the words would set or change a slot (tried on a copy of the call)."""
        trial = self.trial()
        before = dict(trial.state.slots)
        trial._fill_slots(self._raw_text or norm, norm, True, [])
        return trial.state.slots != before or trial._slot_error is not None
