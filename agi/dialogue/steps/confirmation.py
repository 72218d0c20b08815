"""Steps 3 and 4: the answer to a question in flight, and to the read-back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue.replies import Reply
from agi.dialogue.state import Asking

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance


def pending(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """The yes/no or which-one question in flight ("did you say 20 large lattes?",
    "would you like a coke?", "is 555 ... the best number?")."""
    if conv.state.pending is None:
        return None
    reply = conv._answer_pending(u.norm, u.order, u.yes, u.no)
    if reply is None:
        return None
    # "yes" to "did you say 20 large lattes?" can make the order large.
    return (None if conv.finished else conv._large_order()) or reply


def confirmation(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """A plain yes to the read-back commits; a plain no asks what to change; "yes" to
    "anything else?" asks what. A yes or no that also says something ("no wait, make
    it the morning") is not plain: the later steps take what it says."""
    st = conv.state
    lang = st.language
    if st.asking == Asking.READBACK:
        plain = not conv._has_content(u.norm) and conv._focus_slot(u.order) is None  # not "wait, make it three"
        if u.yes and plain:
            return conv._commit()
        if u.no and plain:
            st.asking = Asking.EDIT
            return Reply(P.say("what_change", lang), hints=conv._hints())
    if (
        st.asking == Asking.MORE
        and u.yes
        and not conv._has_content(u.norm)
        and not lexicon.contains(u.norm, lexicon.DONE[lang])
    ):
        return Reply(P.say("what_else", lang), hints=conv._hints())
    return None
