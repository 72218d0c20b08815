"""Step 2: "no, I said Jen": the bot misheard the last turn, which is put right."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue.replies import Reply
from agi.dialogue.state import Asking

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance
    from agi.dialogue.state import DialogueState


def correction(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """"No, I said Jen" / "that's not what I said": everything the last turn changed
    is undone, then what the caller says now is taken in its place, or the question
    is asked again.

    When the words make no sense in place of the last turn but do in place of the
    one before, that is the turn they put right: the caller's first "no, I said Chen
    Family" was itself misheard, and its "no" taken as the answer to the next
    question ("Is 619 ... the best number?")."""
    said = lexicon.correction(u.text, conv.state.language)
    if said is None or conv._before_turn is None:
        return None
    if not said and (conv.state.asking == Asking.READBACK or conv.state.pending is not None):
        return None  # "that's wrong" to a yes/no question is a no
    back_to, earlier = conv._before_turn, conv._before_last
    if lexicon.normalise(said) and earlier is not None:
        if not put_right(conv.trial(), said, back_to).understood and put_right(conv.trial(), said, earlier).understood:
            back_to = conv._before_turn = earlier
            conv._before_last = None
    return put_right(conv, said, back_to)


def put_right(conv: "DialogueEngine", said: str, back_to: "DialogueState") -> Reply:
    """The conversation as it was at `back_to`, then `said` heard there (the overriding
    rules have seen these words already)."""
    from agi.dialogue.steps import run_turn

    st = conv.state
    counters = (st.turns, st.nonsense, st.language, st.heard)
    conv.state = copy.deepcopy(back_to)
    conv.state.turns, conv.state.nonsense, conv.state.language, conv.state.heard = counters
    if not lexicon.normalise(said):
        return Reply(P.say("sorry_again", conv.state.language, again=conv._question_text()), hints=conv._hints())
    reply = run_turn(conv, conv._utterance(said))
    if reply.understood:
        conv.state.misunderstandings = 0
    return reply
