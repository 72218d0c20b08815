"""What a listener refuses to stay within its limits: counted always, logged sparingly.

Every port that may face a network (FastAGI, AudioSocket, Event Socket, the
webhook and ops ports) closes connections that would cost the live calls:
too many at once, a header that does not come in time, a body over the
limit. Each refusal counts in `callticket_connections_refused_total{listener,
reason}`; the log gets the first refusal of a kind at once, then at most one
line per interval with how many followed, so a flood cannot flood the log.

    refused = Refusals("fastagi")
    refused(Reason.NO_HEADER, peer="10.0.0.9")
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum

from agi import metrics as _metrics

log = logging.getLogger("callticket.limits")

LOG_EVERY_S = 10.0


class Reason(StrEnum):
    TOO_MANY = "too_many"  # over the listener's connection cap
    NO_HEADER = "no_header"  # no complete, valid header before the deadline
    EVICTED = "evicted"  # the oldest header-less connection, closed to make room for a new one
    TOO_SLOW = "too_slow"  # a request not received whole before the deadline
    TOO_LARGE = "too_large"  # a body over the limit


class Refusals:
    def __init__(self, listener: str, metrics: _metrics.Metrics | None = None, every_s: float = LOG_EVERY_S):
        self.listener = listener
        self.metrics = metrics or _metrics.METRICS
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last: dict[Reason, float] = {}
        self._since: dict[Reason, int] = {}
        self.counts: dict[Reason, int] = {}

    def __call__(self, reason: Reason, peer: object = None, detail: str = "") -> None:
        self.metrics.connection_refused(self.listener, reason.value)
        now = time.monotonic()
        with self._lock:
            self.counts[reason] = self.counts.get(reason, 0) + 1
            self._since[reason] = self._since.get(reason, 0) + 1
            if now - self._last.get(reason, -self.every_s) < self.every_s:
                return
            self._last[reason] = now
            count, self._since[reason] = self._since[reason], 0
        log.warning("connection refused", extra={"fields": {
            "listener": self.listener, "reason": reason.value, "peer": _peer(peer), "detail": detail[:200],
            "refused_since_last_line": count}})

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())


def _peer(peer: object) -> str | None:
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None if peer is None else str(peer)[:64]
