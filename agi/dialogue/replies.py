"""What one dialogue turn produces: the words to say and what the call does next."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from agi.tickets import Ticket


class ActionKind(str, Enum):
    COMMIT = "commit"  # send the ticket to the POS, then say it is in
    TRANSFER = "transfer"  # a person takes the call
    REFUSE = "refuse"  # the call ends without a ticket (abuse, closed, absurd)
    HANGUP = "hangup"  # the call is done


@dataclass(frozen=True, slots=True)
class Action:
    """What the call must do after speaking the reply."""

    kind: ActionKind
    reason: str = ""
    target: str | None = None
    ticket: Ticket | None = None


@dataclass(slots=True)
class Reply:
    text: str
    action: Action | None = None
    hints: tuple[str, ...] = ()
    understood: bool = True
    notes: list[str] = field(default_factory=list)
