"""Steps 5 to 7: questions the caller asks, and the answers to the bot's detail questions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agi.dialogue import lexicon
from agi.dialogue.replies import Reply

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance

# Where a turn's sentences and clauses part: a question beside the rest of the turn.
_CLAUSE = re.compile(r"(?<=[?？])\s*|(?<=[.!。！])\s+|,\s+|，")


def questions_beside(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """'do you guys have parking? I want a blowout with Marco Saturday at 11', 'my laptop
    screen is cracked, how much is it to replace it?': the rest of the turn is taken as
    any turn, then the questions are answered (after, so "it" is what was just said)."""
    from agi.dialogue.steps import run_turn

    clauses = [c.strip() for c in _CLAUSE.split(u.text) if c.strip()]
    if len(clauses) < 2:
        return None
    asked = [c for c in clauses if conv.trial()._question(lexicon.normalise(c)) is not None]
    rest = " ".join(c for c in clauses if c not in asked)
    if not asked or not lexicon.normalise(rest) or not run_turn(conv.trial(), conv._utterance(rest)).understood:
        return None  # "hi, what's your return policy, in case ...?": the question alone, answered as such
    reply = run_turn(conv, conv._utterance(rest))
    answers = [conv._question(lexicon.normalise(c), then="") for c in asked]
    said = [a.text.strip() for a in answers if a is not None and a.understood]
    reply.text = " ".join([*said, reply.text])
    return reply


def detail(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """The answer to "what size?", "which sauce?", "how many?" goes to that line."""
    reply = conv._answer_detail(u.norm, u.order)
    if reply is None:
        return None
    return conv._large_order() or reply  # "ten large" to "what size?" can make it large


def question(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """A question the catalog or the Playbook answers (prices, contents, hours, area,
    FAQ), then the question in flight again. The answer to "what is it doing?" is a
    description, even with a question's word in it ("it only lasts a couple of hours")."""
    spec = conv._slot_spec(conv.state.asking)
    if spec is not None and spec.type == "text" and not u.asks and not u.norm.startswith(conv._QUESTION_STARTS):
        return None
    return conv._question(u.norm)
