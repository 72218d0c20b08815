"""Outbox storage: the row model and the SQL both backends share.

A row is one confirmed ticket on its way to the POS. States:
`pending` (not yet acknowledged), `delivered` (the POS returned an order id)
and `dead` (the POS refused it for good, or it was pending too long).

A sender *claims* a row with a lease before talking to the POS. The lease
names its owner (`host:pid:start`), so a restarted sender on the same machine
takes over the rows of a killed one at once, while a sender on another
machine waits for the lease to expire.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

COLUMNS = (
    "key, adapter, ticket, state, attempts, maybe_applied, next_at, created_at, updated_at, "
    "order_id, receipt, last_error, lease_owner, lease_until"
)


@dataclass(frozen=True)
class Row:
    key: str
    adapter: str
    ticket: str
    state: str
    attempts: int
    maybe_applied: bool  # a request may have reached the POS: look before resending
    next_at: float
    created_at: float
    updated_at: float
    order_id: str | None
    receipt: str | None
    last_error: str | None
    lease_owner: str | None
    lease_until: float | None

    @classmethod
    def from_tuple(cls, t: Sequence) -> Row:
        return cls(t[0], t[1], t[2], t[3], int(t[4]), bool(t[5]), float(t[6]), float(t[7]), float(t[8]),
                   t[9], t[10], t[11], t[12], None if t[13] is None else float(t[13]))


class Store(Protocol):
    def enqueue(self, key: str, adapter: str, ticket: str, now: float) -> bool: ...

    def claim(self, adapters: Sequence[str], owner: str, lease_s: float, now: float,
              keys: Sequence[str] | None = None) -> Row | None: ...

    def delivered(self, key: str, owner: str, order_id: str, receipt: str, now: float) -> bool: ...

    def retry(self, key: str, owner: str, next_at: float, error: str, maybe_applied: bool, now: float) -> bool: ...

    def dead(self, key: str, owner: str, error: str, now: float) -> bool: ...

    def get(self, key: str) -> Row | None: ...

    def rows(self, state: str | None, limit: int) -> list[Row]: ...

    def counts(self) -> dict[str, int]: ...

    def requeue(self, key: str, now: float) -> bool: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- owners

def _start_time(pid: int) -> str | None:
    """Process start time in clock ticks since boot (Linux); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


_HOST = socket.gethostname()


def owner_id() -> str:
    """Who holds a lease: host, pid and the process start time (pids get reused)."""
    pid = os.getpid()
    return f"{_HOST}:{pid}:{_start_time(pid) or int(time.time())}"


def owner_alive(owner: str) -> bool:
    """False only when we can tell for sure that the owner process is gone."""
    try:
        host, pid, start = owner.rsplit(":", 2)
    except ValueError:
        return True
    if host != _HOST:
        return True  # another machine: trust the lease expiry
    return _start_time(int(pid)) == start


def lease_free(owner: str | None, lease_until: float | None, now: float, me: str) -> bool:
    if owner is None or lease_until is None or lease_until < now:
        return True
    if owner == me:
        return False  # another thread of this process is working on it
    return not owner_alive(owner)
