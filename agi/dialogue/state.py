"""The open ticket of one call and what the bot is waiting to hear."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from agi.tickets import OrderLine


class Asking(str, Enum):
    """The bot's own questions (`DialogueState.asking` is one of these, a slot id, or
    "detail:<line>:<size|count|group id>"); no Playbook slot may take these names."""

    ORDER = "order"  # "what can I get for you?"
    MORE = "more"  # "anything else?"
    READBACK = "readback"  # "... shall I place the order?"
    EDIT = "edit"  # "what would you like to change?"
    CONFIRM_CALLER = "confirm_caller"  # "press 1 to go on" (a number that hung up often)


class PendingKind(str, Enum):
    """What a yes (or a pick) to the question in flight would do."""

    GUESS = "guess"  # "did you say 20 large lattes?": the lines as guessed
    ALTERNATIVE = "alternative"  # "we're out of X; would you like Y instead?"
    UPSELL = "upsell"  # "would you like to add a coke?"
    CALLERID = "callerid"  # "is 555 ... the best number?"
    WHICH = "which"  # "which one: cheese, pepperoni ...?"
    SERVICE = "service"  # "X is not available; would you like Y?" for a booking
    CONFIRM_CALLER = "confirm_caller"  # a key press asked for before the call goes on


@dataclass(slots=True)
class Pending:
    """A yes/no question in flight and what a yes would do."""

    kind: PendingKind
    lines: list[OrderLine] = field(default_factory=list)
    rule_id: str | None = None


@dataclass(slots=True)
class DialogueState:
    language: str = "en"
    lines: list[OrderLine] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None  # an Asking, a slot id, or "detail:<line>:<what>"
    pending: Pending | None = None
    order_done: bool = False
    upsells_offered: set[str] = field(default_factory=set)
    misunderstandings: int = 0
    nonsense: int = 0
    silences: int = 0
    last_line: int | None = None
    dtmf_buffer: str = ""
    closed_now: bool = False
    callerid_declined: bool = False
    turns: int = 0
    # Lines said in the plural with no number ("large pepperoni pizzas"),
    # by identity: asked "how many?" once; a line changed or removed drops out.
    uncounted: list[OrderLine] = field(default_factory=list)
    # What the caller set or changed last: "line" or a slot id. "Make it eight"
    # changes that: the time just moved, or the quantity of the line just said.
    focus: str | None = None
    # (the detail question, the options a short answer fitted): "vanilla" to
    # "which syrup?" fits two syrups, so the question is asked again with those two.
    narrowed: tuple[str, tuple[str, ...]] | None = None
    # The item the caller last asked about ("how much is a men's haircut?"): "book me one".
    topic: str | None = None
    # Everything the caller said, as heard (kept through corrections): what a ticket's values
    # are checked against before the commit (invariant.check_commit).
    heard: list[str] = field(default_factory=list)
    # The ticket as last read back (Ticket.to_public()): a commit must be exactly this.
    read_back: dict[str, Any] | None = None

    def touch(self, index: int) -> None:
        self.last_line = index
        self.focus = "line"

    def last(self) -> OrderLine | None:
        if self.last_line is not None and 0 <= self.last_line < len(self.lines):
            return self.lines[self.last_line]
        return self.lines[-1] if self.lines else None
