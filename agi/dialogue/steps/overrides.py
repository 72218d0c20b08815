"""Step 1: rules that override the conversation, whatever else was said."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agi.dialogue import policy
from agi.dialogue.replies import Reply

if TYPE_CHECKING:
    from agi.dialogue.engine import DialogueEngine
    from agi.dialogue.reading import Utterance


def overrides(conv: "DialogueEngine", u: "Utterance") -> Reply | None:
    """Abuse is refused; a person asked for is a transfer, always; urgent words and
    matters out of scope go to the Playbook's target."""
    bad = policy.profane(u.text, conv.pb)
    if bad:
        return conv._refuse(f"abusive language: {bad}")
    if policy.wants_person(u.text, conv.state.language):
        return conv._transfer("caller asked for a person", None, "transfer")
    decision = policy.urgent(u.text, conv.pb) or policy.out_of_scope(u.text, conv.pb)
    if decision is not None:
        return conv._decide(decision)
    return None
