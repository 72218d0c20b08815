"""Step 8: what the turn says of the slots and the order, then what to ask next.

The order of reading keeps numbers with what they count: an answer to the slot
asked (or to the one just changed, "make it eight") is that slot's and no order
line; otherwise edits of lines already on the order come before new lines, and
the slots read last, from the whole turn. A question nobody answered may still
change a value ("can we do Sunday instead, same time?"), never add a line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agi.dialogue import lexicon, policy
from agi.dialogue.replies import Reply
from agi.dialogue.state import Asking, PendingKind
from agi.tickets import OrderLine

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance


def understand(conv: "DialogueEngine", u: "Utterance") -> Reply:
    st = conv.state
    lang = st.language
    notes: list[str] = []
    # The answer to "what's the address?" is not an order ("3000 24th street"),
    # nor is "make it eight" when the time is what the caller just moved.
    asked_spec = conv._slot_spec(st.asking)
    slot_answer = conv._answers_slot(asked_spec, u.text, u.norm)
    if not slot_answer and (focus := conv._focus_slot(u.order)) is not None:
        asked_spec, slot_answer = focus, conv._answers_slot(focus, u.text, u.norm)
    unanswered_question = (
        conv._is_question(u.norm)
        and u.asks
        and not (slot_answer and not u.norm.startswith(conv._QUESTION_STARTS))  # "Ben?": a recogniser's rising tone
        and not lexicon.contains(u.norm, lexicon.REQUEST[lang] + lexicon.REQUEST["en"])
    )
    changing = lexicon.contains(u.norm, lexicon.CHANGE[lang] + lexicon.CHANGE["en"])
    changed = False if slot_answer or (unanswered_question and not changing) else conv._edit(u.order, notes)
    added: list[OrderLine] = []
    if not changed and not slot_answer and not unanswered_question and conv.pb.ticket.items and u.order:
        added, refusal = conv._add_items(u.order, u.order, notes)
        if refusal is not None:
            return refusal
    before = dict(st.slots)
    got_slots = conv._fill_slots(
        u.text,
        u.norm,
        bool(changed or added or unanswered_question),
        notes,
        asked_spec.id if slot_answer and asked_spec else None,
    )
    if unanswered_question and not (changed or got_slots):
        return conv._not_understood()
    heard = conv._acknowledgement(before, bool(changed or added)) if got_slots and not conv._slot_error else ""
    got_slots = _order_done(conv, u, bool(changed), bool(added), got_slots)

    if st.pending is not None and st.pending.kind in (PendingKind.GUESS, PendingKind.ALTERNATIVE, PendingKind.SERVICE, PendingKind.WHICH):
        return Reply(" ".join(notes), hints=conv._hints())

    if not (changed or added or got_slots or notes):
        if policy.prankish(u.text):
            st.nonsense += 1
            if st.nonsense >= conv.pb.abuse.max_nonsense:
                return conv._refuse("nonsense / prank")
        return conv._not_understood()

    large = conv._large_order()
    if large is not None:
        return large
    reply = conv._next(lead=notes, added=added)
    if heard and st.asking != Asking.READBACK:  # a read-back says it all anyway
        reply.text = with_acknowledgement(reply.text, heard, notes, bool(changed or added), lang == "zh")
    return reply


def _order_done(conv: "DialogueEngine", u: "Utterance", changed: bool, added: bool, got_slots: bool) -> bool:
    """Whether the caller is done ordering: "that's all", "no" to "anything else?", a
    change made where the bot asked what to change, or details given instead of items
    (giving pickup or delivery details is how callers say they are done). Returns
    whether the turn counts as understood for its slots."""
    st = conv.state
    lang = st.language
    if lexicon.contains(u.norm, lexicon.DONE[lang]) or (st.asking == Asking.MORE and u.no and not added and not changed):
        if st.lines or not conv.pb.ticket.items:
            st.order_done = True
            got_slots = True
    if st.asking == Asking.EDIT and (changed or added or got_slots):
        st.order_done = True
    if st.asking == Asking.MORE and got_slots and not added and st.lines:
        st.order_done = True
    return got_slots


def with_acknowledgement(text: str, heard: str, notes: list[str], after_first: bool, chinese: bool) -> str:
    """`heard` placed after the turn's notes ("Okay, changed.") and, when the
    turn also changed the order, after the sentence saying the order back."""
    said = " ".join(t for t in notes if t)
    head, rest = (said, text[len(said):].lstrip()) if said and text.startswith(said) else ("", text)
    if after_first:
        first, dot, tail = rest.partition("。" if chinese else ". ")
        if dot:
            head, rest = " ".join(t for t in (head, first + dot.strip()) if t), tail.lstrip()
    return ("" if chinese else " ").join(t for t in (head, heard, rest) if t)
