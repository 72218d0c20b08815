"""Webhook events already handled, kept in the outbox database.

Vendors retry webhooks, and anyone who saw a signed event can send it again.
The ledger remembers each event's id per location for `retention_s`, in the
same database as the outbox (SQLite in the data directory, or the shared
PostgreSQL), so a replay is recognised however many events came between and
after a restart, by every worker that shares the database.

    ledger = WebhookLedger("sqlite:/var/lib/callticket/outbox.sqlite3")   # or postgresql://...
    ledger.first_time("pizzeria", event_id, time.time())   # True once per (location, id)

Ids older than the retention are forgotten; the webhook endpoint refuses an
event dated that long ago anyway (agi.webhooks), so forgetting opens no door.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agi import sqldb

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS webhook_events ("
    " location TEXT NOT NULL, event_id TEXT NOT NULL, seen_at DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (location, event_id))",
    "CREATE INDEX IF NOT EXISTS webhook_events_seen ON webhook_events (seen_at)",
)
PURGE_EVERY_S = 600.0


class WebhookLedger:
    """Connects on first use, and again after the database failed (the endpoint answers 503 meanwhile)."""

    def __init__(self, dsn: str | Path, password: str | None = None, retention_s: float = 2 * 86400.0,
                 connect_timeout_s: int = 5):
        self.dsn = str(dsn)
        self.postgres = sqldb.is_postgres(self.dsn)
        self.password = password
        self.retention_s = retention_s
        self.connect_timeout_s = connect_timeout_s
        self._lock = threading.Lock()
        self._conn: Any = None
        self._last_purge = 0.0

    def _connect(self) -> Any:
        conn = sqldb.connect(self.dsn, self.password, self.connect_timeout_s, busy_timeout_s=30)
        for statement in SCHEMA:
            conn.execute(statement)
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        if self.postgres:
            sql = sql.replace("?", "%s")
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            try:
                return self._conn.execute(sql, params).rowcount
            except Exception:
                if self.postgres:  # a dropped connection: the next call connects again
                    self._close()
                raise

    def first_time(self, location: str, event_id: str, now: float) -> bool:
        """Record the event; False when it was recorded before (a retry or a replay)."""
        if now - self._last_purge > PURGE_EVERY_S:
            self.purge(now)
        added = self._run("INSERT INTO webhook_events (location, event_id, seen_at) VALUES (?, ?, ?) "
                          "ON CONFLICT (location, event_id) DO NOTHING", (location, event_id, now))
        return added == 1

    def purge(self, now: float) -> int:
        """Forget ids seen longer than the retention ago."""
        self._last_purge = now
        return max(self._run("DELETE FROM webhook_events WHERE seen_at < ?", (now - self.retention_s,)), 0)

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close()
