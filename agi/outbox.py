"""The durable outbox: every confirmed ticket reaches the POS exactly once.

    outbox = Outbox(data_dir / "outbox.sqlite3")      # or "postgresql://..."
    outbox.enqueue(ticket, key, adapter.name)           # durable before it returns
    outbox.deliver_pending(adapter)                     # one synchronous pass
    Sender(outbox, {adapter.name: adapter}).run(stop)   # the background sender

Exactly once, across crashes: the ticket is committed to the database before
the caller hears "confirmed"; a sender leases a row, marks that a request may
reach the POS, and only then sends it. Whenever a previous attempt may have
reached the POS (a timeout, a 5xx, a crash mid-request), the next attempt
first asks the POS whether it already has the order (`adapter.find`) unless
the POS replays repeated keys itself (Square, the local POS). Transient
failures back off exponentially with full jitter, never sooner than the
vendor's Retry-After; a permanent refusal moves the row to `dead` with an
alert log line and the `on_dead_letter` hook.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from adapters.base import Adapter, ConfigurationError, PermanentError, Receipt, TransientError
from agi.outbox_store import Row, Store, owner_id
from agi.tickets import Ticket

log = logging.getLogger("callticket.outbox")

DeadLetterHook = Callable[[Row, str], None]
RequestHook = Callable[[str, float, "str | None"], None]  # vendor, seconds, error kind


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 0.5
    cap_s: float = 60.0
    max_age_s: float = 3600.0  # a phone order still pending after this is dead letter
    lease_s: float = 60.0  # longer than any one attempt (find + submit with their timeouts)
    find_window_s: float = 900.0  # how far before enqueue `find` looks

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter (AWS architecture blog), floored at the vendor's Retry-After."""
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, attempts - 1)))
        wait = rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after + rng.uniform(0, 0.1 * max(retry_after, 0.1)))
        return wait


def open_store(dsn_or_path: str | Path, password: str | None = None) -> Store:
    text = str(dsn_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        from agi.outbox_pg import PostgresStore

        return PostgresStore(text, password)
    from agi.outbox_sqlite import SqliteStore

    return SqliteStore(text.removeprefix("sqlite:"))


@dataclass
class Outbox:
    """A durable queue of confirmed tickets, keyed by idempotency key."""

    dsn_or_path: str | Path
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    password: str | None = None
    on_dead_letter: list[DeadLetterHook] = field(default_factory=list)
    on_request: list[RequestHook] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        self.store = open_store(self.dsn_or_path, self.password)
        self.owner = owner_id()
        self._rng = random.Random(self.seed)
        self._wake = threading.Event()

    # ---------------------------------------------------------- producers

    def enqueue(self, ticket: Ticket, key: str, adapter_name: str) -> bool:
        """Store the ticket durably; False when the key was already queued (a replay)."""
        if not key:
            raise ValueError("an outbox entry needs an idempotency key")
        added = self.store.enqueue(key, adapter_name, ticket.model_dump_json(), time.time())
        self._wake.set()
        return added

    # ------------------------------------------------------------ readers

    def get(self, key: str) -> Row | None:
        return self.store.get(key)

    def receipt(self, key: str) -> Receipt | None:
        row = self.store.get(key)
        if row is None or row.state != "delivered" or row.receipt is None:
            return None
        return Receipt.from_json(row.receipt)

    def rows(self, state: str | None = None, limit: int = 100) -> list[Row]:
        return self.store.rows(state, limit)

    def counts(self) -> tuple[int, int]:
        """(pending, dead_letter): the shape `Metrics.watch_outbox` expects."""
        c = self.store.counts()
        return c.get("pending", 0), c.get("dead", 0)

    def requeue(self, key: str) -> bool:
        """Give a dead-letter ticket another chance (after fixing the POS side)."""
        ok = self.store.requeue(key, time.time())
        self._wake.set()
        return ok

    def close(self) -> None:
        self.store.close()

    # ----------------------------------------------------------- delivery

    def deliver_pending(self, adapter: Adapter, keys: Sequence[str] | None = None, wait_s: float = 0.0,
                        name: str | None = None) -> int:
        """Deliver what is due for `adapter` in this thread; returns how many were delivered.

        Rows are those enqueued under `name` (default `adapter.name`). With
        `wait_s`, keeps retrying (honouring backoff) until every row in `keys`
        is delivered or dead, or the time is up.
        """
        deadline = time.monotonic() + wait_s
        done = 0
        while True:
            row = self.store.claim([name or adapter.name], self.owner, self.policy.lease_s, time.time(), keys)
            if row is not None:
                done += self.deliver(row, adapter) == "delivered"
                continue
            if keys is None or time.monotonic() >= deadline:
                return done
            waiting = [self.store.get(k) for k in keys]
            waiting = [r for r in waiting if r is not None and r.state == "pending"]
            if not waiting:
                return done
            nap = min(r.next_at for r in waiting) - time.time()
            time.sleep(min(max(nap, 0.01), max(0.0, deadline - time.monotonic())))

    def deliver(self, row: Row, adapter: Adapter) -> str:
        """One attempt for a claimed row; returns the row's new state."""
        key = row.key
        maybe_applied = row.maybe_applied  # may an earlier attempt have created the order?
        submitting = False
        started = time.monotonic()
        try:
            ticket = Ticket.model_validate_json(row.ticket)
            receipt = None
            if maybe_applied and not adapter.capabilities.native_idempotency:
                since = datetime.fromtimestamp(row.created_at - self.policy.find_window_s, UTC)
                receipt = adapter.find(key, since=since)
                maybe_applied = False  # looked: it is not there
            if receipt is None:
                submitting = True
                receipt = adapter.submit(ticket, key)
        except TransientError as exc:
            self._observe(adapter.name, started, exc.kind)
            # A failed submit may have applied only if the error says so; a failed find changes nothing.
            return self._retry(row, exc, exc.retry_after, exc.maybe_applied if submitting else maybe_applied)
        except ConfigurationError as exc:
            self._observe(adapter.name, started, "config")
            return self._retry(row, exc, self.policy.cap_s, maybe_applied)
        except PermanentError as exc:
            self._observe(adapter.name, started, "rejected")
            return self._dead(row, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # an adapter bug must not kill the sender; keep the ticket
            log.exception("outbox delivery crashed", extra={"fields": {"key": key, "adapter": adapter.name}})
            self._observe(adapter.name, started, "error")
            return self._retry(row, exc, None, True)
        self._observe(adapter.name, started, None)
        if not self.store.delivered(key, self.owner, receipt.order_id, receipt.to_json(), time.time()):
            log.warning("outbox lease lost before ack", extra={"fields": {"key": key, "order_id": receipt.order_id}})
        return "delivered"

    def _retry(self, row: Row, exc: Exception, retry_after: float | None, maybe_applied: bool) -> str:
        now = time.time()
        error = f"{type(exc).__name__}: {exc}"
        if now - row.created_at > self.policy.max_age_s:
            return self._dead(row, f"gave up after {row.attempts + 1} attempts: {error}")
        next_at = now + self.policy.delay(row.attempts + 1, retry_after, self._rng)
        self.store.retry(row.key, self.owner, next_at, error, maybe_applied, now)
        log.info("outbox retry", extra={"fields": {"key": row.key, "adapter": row.adapter, "error": error,
                                                   "attempt": row.attempts + 1, "in_s": round(next_at - now, 3)}})
        return "pending"

    def _dead(self, row: Row, reason: str) -> str:
        self.store.dead(row.key, self.owner, reason, time.time())
        # The alert line operators page on.
        log.error("outbox dead letter", extra={"fields": {"alert": "pos_dead_letter", "key": row.key,
                                                          "adapter": row.adapter, "reason": reason}})
        for hook in self.on_dead_letter:
            try:
                hook(row, reason)
            except Exception:
                log.exception("dead-letter hook failed")
        return "dead"

    def _observe(self, vendor: str, started: float, error: str | None) -> None:
        for hook in self.on_request:
            try:
                hook(vendor, time.monotonic() - started, error)
            except Exception:
                log.exception("request hook failed")

    def wait_for_work(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()


class Sender:
    """Background delivery: `workers` threads claiming due rows for these adapters."""

    def __init__(self, outbox: Outbox, adapters: Mapping[str, Adapter], workers: int = 4, poll_s: float = 0.25):
        self.outbox = outbox
        self.adapters = dict(adapters)
        self.workers = workers
        self.poll_s = poll_s
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Sender:
        for n in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"outbox-sender-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.outbox._wake.set()
        for t in self._threads:
            t.join(timeout)

    def run(self) -> None:
        """Run in the foreground until `stop` is set (the `callticket outbox send` command)."""
        self.start()
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            self.close()

    def _loop(self) -> None:
        names = list(self.adapters)
        while not self.stop.is_set():
            try:
                row = self.outbox.store.claim(names, self.outbox.owner, self.outbox.policy.lease_s, time.time())
            except Exception:
                log.exception("outbox claim failed")
                self.stop.wait(self.poll_s)
                continue
            if row is None:
                self.outbox.wait_for_work(self.poll_s)
                continue
            self.outbox.deliver(row, self.adapters[row.adapter])


def metrics_hooks(outbox: Outbox, metrics) -> None:
    """Wire an outbox to `agi.metrics.Metrics`: request latency/errors and live counts."""
    outbox.on_request.append(metrics.pos_request)
    metrics.watch_outbox(outbox.counts)



def commit(outbox: Outbox, adapter: Adapter, ticket: Ticket, key: str, *, name: str | None = None,
           wait_s: float = 0.0):
    """The commit path of a live call: queue durably, try to deliver this ticket now.

    Returns `CommitDone` with the POS order id once the POS has it, `CommitDone`
    without one while it is still queued (the background sender carries on),
    or `CommitFailed` when it could not be queued or the POS refused it for
    good (dead letter): the caller is then handed to staff.
    """
    from agi import events as ev

    try:
        outbox.enqueue(ticket, key, name or adapter.name)
    except Exception as exc:  # nothing durable: the caller must not hear "confirmed"
        return ev.CommitFailed(f"outbox unavailable: {type(exc).__name__}: {exc}")
    try:
        outbox.deliver_pending(adapter, keys=[key], wait_s=wait_s, name=name)
    except Exception as exc:  # queued already: the sender retries it
        log.warning("immediate delivery failed", extra={"fields": {"key": key, "error": str(exc)}})
    row = outbox.get(key)
    if row is not None and row.state == "dead":
        return ev.CommitFailed(f"the POS refused the order: {row.last_error}")
    receipt = outbox.receipt(key)
    if receipt is None:
        return ev.CommitDone(None, key, adapter.name)
    return ev.CommitDone(receipt.order_id, key, receipt.adapter)
