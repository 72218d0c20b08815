"""Outbox rows in PostgreSQL: one outbox shared by workers on several machines.

Claims use `SELECT ... FOR UPDATE SKIP LOCKED`, so two senders never wait on
each other and never take the same row.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import psycopg

from agi.outbox_store import COLUMNS, Row, lease_free

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key           TEXT PRIMARY KEY,
    adapter       TEXT NOT NULL,
    ticket        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    maybe_applied BOOLEAN NOT NULL DEFAULT FALSE,
    next_at       DOUBLE PRECISION NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    updated_at    DOUBLE PRECISION NOT NULL,
    order_id      TEXT,
    receipt       TEXT,
    last_error    TEXT,
    lease_owner   TEXT,
    lease_until   DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_at);
"""


class PostgresStore:
    def __init__(self, dsn: str, password: str | None = None):
        self.dsn = dsn
        self.password = password
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        with self._db().transaction():
            # Several workers may start at once: serialise the schema creation.
            self._db().execute("SELECT pg_advisory_xact_lock(4242001)")
            self._db().execute(SCHEMA)

    def _db(self) -> psycopg.Connection:
        db = getattr(self._local, "db", None)
        if db is None or db.closed:
            kwargs = {"password": self.password} if self.password else {}
            db = psycopg.connect(self.dsn, autocommit=True, **kwargs)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _write(self, sql: str, args: Sequence) -> int:
        return self._db().execute(sql, args).rowcount

    def enqueue(self, key: str, adapter: str, ticket: str, now: float) -> bool:
        return self._write(
            "INSERT INTO outbox(key, adapter, ticket, next_at, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT(key) DO NOTHING", (key, adapter, ticket, now, now, now)) == 1

    def claim(self, adapters: Sequence[str], owner: str, lease_s: float, now: float,
              keys: Sequence[str] | None = None) -> Row | None:
        db = self._db()
        sql = f"SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_at <= %s AND adapter = ANY(%s)"
        args: list = [now, list(adapters)]
        if keys is not None:
            sql += " AND key = ANY(%s)"
            args.append(list(keys))
        sql += " ORDER BY next_at LIMIT 64 FOR UPDATE SKIP LOCKED"
        with db.transaction():
            for t in db.execute(sql, args).fetchall():
                row = Row.from_tuple(t)
                if not lease_free(row.lease_owner, row.lease_until, now, owner):
                    continue
                db.execute(
                    "UPDATE outbox SET lease_owner = %s, lease_until = %s, attempts = attempts + 1, "
                    "maybe_applied = TRUE, updated_at = %s WHERE key = %s", (owner, now + lease_s, now, row.key))
                return row
        return None

    def delivered(self, key: str, owner: str, order_id: str, receipt: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'delivered', order_id = %s, receipt = %s, lease_owner = NULL, "
            "lease_until = NULL, last_error = NULL, updated_at = %s WHERE key = %s AND lease_owner = %s",
            (order_id, receipt, now, key, owner)) == 1

    def retry(self, key: str, owner: str, next_at: float, error: str, maybe_applied: bool, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET next_at = %s, last_error = %s, maybe_applied = %s, lease_owner = NULL, "
            "lease_until = NULL, updated_at = %s WHERE key = %s AND lease_owner = %s",
            (next_at, error, maybe_applied, now, key, owner)) == 1

    def dead(self, key: str, owner: str, error: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'dead', last_error = %s, lease_owner = NULL, lease_until = NULL, "
            "updated_at = %s WHERE key = %s AND lease_owner = %s", (error, now, key, owner)) == 1

    def get(self, key: str) -> Row | None:
        t = self._db().execute(f"SELECT {COLUMNS} FROM outbox WHERE key = %s", (key,)).fetchone()
        return None if t is None else Row.from_tuple(t)

    def rows(self, state: str | None, limit: int) -> list[Row]:
        if state is None:
            cur = self._db().execute(f"SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC LIMIT %s", (limit,))
        else:
            cur = self._db().execute(
                f"SELECT {COLUMNS} FROM outbox WHERE state = %s ORDER BY created_at DESC LIMIT %s", (state, limit))
        return [Row.from_tuple(t) for t in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in self._db().execute("SELECT state, count(*) FROM outbox GROUP BY state")}

    def requeue(self, key: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'pending', next_at = %s, maybe_applied = TRUE, updated_at = %s "
            "WHERE key = %s AND state = 'dead'", (now, now, key)) == 1

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
