"""Outbox rows in SQLite (WAL, synchronous=FULL): the single-machine default."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from agi.outbox_store import COLUMNS, Row, lease_free

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key           TEXT PRIMARY KEY,
    adapter       TEXT NOT NULL,
    ticket        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    maybe_applied INTEGER NOT NULL DEFAULT 0,
    next_at       REAL NOT NULL,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    order_id      TEXT,
    receipt       TEXT,
    last_error    TEXT,
    lease_owner   TEXT,
    lease_until   REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_at);
"""


class SqliteStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed ticket survives power loss, not only a crash.
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _write(self, sql: str, args: Sequence) -> int:
        return self._db().execute(sql, args).rowcount

    def enqueue(self, key: str, adapter: str, ticket: str, now: float) -> bool:
        return self._write(
            "INSERT INTO outbox(key, adapter, ticket, next_at, created_at, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(key) DO NOTHING", (key, adapter, ticket, now, now, now)) == 1

    def claim(self, adapters: Sequence[str], owner: str, lease_s: float, now: float,
              keys: Sequence[str] | None = None) -> Row | None:
        db = self._db()
        marks = ",".join("?" * len(adapters))
        sql = (f"SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_at <= ? AND adapter IN ({marks})")
        args: list = [now, *adapters]
        if keys is not None:
            sql += f" AND key IN ({','.join('?' * len(keys))})"
            args += list(keys)
        sql += " ORDER BY next_at LIMIT 256"
        db.execute("BEGIN IMMEDIATE")
        try:
            for t in db.execute(sql, args).fetchall():
                row = Row.from_tuple(t)
                if not lease_free(row.lease_owner, row.lease_until, now, owner):
                    continue
                db.execute(
                    "UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, "
                    "maybe_applied = 1, updated_at = ? WHERE key = ?", (owner, now + lease_s, now, row.key))
                db.execute("COMMIT")
                return row
            db.execute("COMMIT")
            return None
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def delivered(self, key: str, owner: str, order_id: str, receipt: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'delivered', order_id = ?, receipt = ?, lease_owner = NULL, "
            "lease_until = NULL, last_error = NULL, updated_at = ? WHERE key = ? AND lease_owner = ?",
            (order_id, receipt, now, key, owner)) == 1

    def retry(self, key: str, owner: str, next_at: float, error: str, maybe_applied: bool, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET next_at = ?, last_error = ?, maybe_applied = ?, lease_owner = NULL, "
            "lease_until = NULL, updated_at = ? WHERE key = ? AND lease_owner = ?",
            (next_at, error, int(maybe_applied), now, key, owner)) == 1

    def dead(self, key: str, owner: str, error: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'dead', last_error = ?, lease_owner = NULL, lease_until = NULL, "
            "updated_at = ? WHERE key = ? AND lease_owner = ?", (error, now, key, owner)) == 1

    def get(self, key: str) -> Row | None:
        t = self._db().execute(f"SELECT {COLUMNS} FROM outbox WHERE key = ?", (key,)).fetchone()
        return None if t is None else Row.from_tuple(t)

    def rows(self, state: str | None, limit: int) -> list[Row]:
        if state is None:
            cur = self._db().execute(f"SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC LIMIT ?", (limit,))
        else:
            cur = self._db().execute(
                f"SELECT {COLUMNS} FROM outbox WHERE state = ? ORDER BY created_at DESC LIMIT ?", (state, limit))
        return [Row.from_tuple(t) for t in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        return dict(self._db().execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    def requeue(self, key: str, now: float) -> bool:
        return self._write(
            "UPDATE outbox SET state = 'pending', next_at = ?, maybe_applied = 1, updated_at = ? "
            "WHERE key = ? AND state = 'dead'", (now, now, key)) == 1

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                try:
                    db.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()
