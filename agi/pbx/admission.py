"""Who may hold a socket on a call port: a small budget for strangers, a reserve for calls.

A PBX opens a connection and at once sends what identifies the call (the
FastAGI `agi_*` header, the AudioSocket UUID frame, the Event Socket
CHANNEL_DATA). Until it has, a connection is *waiting*; after, it is a
*session*. The two never share a budget:

- at most `waiting_limit` connections wait at once; one more makes the
  oldest waiting one go (it had its chance: a PBX identifies the call within
  milliseconds), so a flood of silent or dripping sockets cannot keep a real
  call out, and cannot take more than `waiting_limit` sockets either;
- at most `session_limit` sessions run at once; waiting connections never
  count against them, so there is always room for a call that identified
  itself.

Sans-IO: `arrive`, `identified` and `leave` decide; the listener carries out
(closes what `arrive` names, refuses what `identified` refuses) and reports
the refusal (agi.refusals).

    admission = Admission(waiting_limit=32, session_limit=164)
    evict = admission.arrive(conn)        # close `evict` if not None
    if not admission.identified(conn): ...refuse: too many sessions...
    admission.leave(conn)                 # whichever way it ended
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

C = TypeVar("C", bound=Hashable)

WAITING_LIMIT = 32


class Admission(Generic[C]):
    def __init__(self, session_limit: int, waiting_limit: int = WAITING_LIMIT):
        if session_limit < 1 or waiting_limit < 1:
            raise ValueError("limits must be at least 1")
        self.session_limit = session_limit
        self.waiting_limit = waiting_limit
        self._waiting: OrderedDict[C, None] = OrderedDict()  # oldest first
        self._sessions: set[C] = set()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    def arrive(self, conn: C) -> C | None:
        """A new connection waits; returns the oldest waiting one to close when the budget is full."""
        evict = None
        if len(self._waiting) >= self.waiting_limit:
            evict, _ = self._waiting.popitem(last=False)
        self._waiting[conn] = None
        return evict

    def identified(self, conn: C) -> bool:
        """The connection sent what identifies a call: a session now, unless all session places are taken."""
        self._waiting.pop(conn, None)
        if len(self._sessions) >= self.session_limit:
            return False
        self._sessions.add(conn)
        return True

    def is_waiting(self, conn: C) -> bool:
        return conn in self._waiting

    def leave(self, conn: C) -> None:
        self._waiting.pop(conn, None)
        self._sessions.discard(conn)
