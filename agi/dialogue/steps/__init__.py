"""The turn as an ordered list of steps.

Each step is a function `(conversation, utterance) -> Reply | None`: it either
answers the turn (and the steps after it do not run) or passes. The order is
the dialogue's policy, read top to bottom:

1. `overrides`: a person asked for, abuse, urgency, a matter out of scope.
2. `correction`: "no, I said ..." puts the last turn right.
3. `pending`: the answer to the yes/no or which-one question in flight.
4. `confirmation`: yes or no to the read-back, "yes" to "anything else?".
5. `questions_beside`: a question asked beside the rest of the turn.
6. `detail`: the answer to "what size?", "which sauce?", "how many?".
7. `question`: a question the catalog or the Playbook answers.
8. `understand`: values for the slots, edits of the order, new lines; then
   what to ask next. It always answers.

Steps 3 to 8 are "the turn" proper: a correction replays them on the state
before the turn it puts right, and a question asked beside other words runs
them on those words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from agi.dialogue.replies import Reply
from agi.dialogue.steps.confirmation import confirmation, pending
from agi.dialogue.steps.correction import correction
from agi.dialogue.steps.overrides import overrides
from agi.dialogue.steps.questions import detail, question, questions_beside
from agi.dialogue.steps.understand import understand

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance

Step = Callable[["DialogueEngine", "Utterance"], "Reply | None"]

BEFORE_TURN: tuple[Step, ...] = (overrides, correction)
TURN: tuple[Step, ...] = (pending, confirmation, questions_beside, detail, question)


def run_turn(conversation: "DialogueEngine", utterance: "Utterance") -> Reply:
    """Steps 3 to 8 on `utterance`: the first that answers, else `understand`'s reply."""
    conversation._raw_text = utterance.text
    for step in TURN:
        reply = step(conversation, utterance)
        if reply is not None:
            return reply
    return understand(conversation, utterance)


__all__ = ["BEFORE_TURN", "TURN", "Step", "run_turn"]
