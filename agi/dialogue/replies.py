"""What one dialogue turn produces: the words to say and what the call does next."""

from __future__ import annotations

from dataclasses import dataclass, field

from agi.tickets import Ticket


@dataclass(frozen=True, slots=True)
class Action:
    """What the call must do after speaking the reply."""

    kind: str  # "commit" | "transfer" | "refuse" | "hangup"
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
