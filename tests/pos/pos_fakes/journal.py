"""A POS with no idempotency at all, kept in a SQLite file so several processes
(senders that get killed) see the same orders: every `submit` creates an order.

`submit` can pause after creating the order and before answering (`PAUSE_FILE`
holds the seconds), which is the window where a crash makes a blind retry
create a duplicate.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path

from adapters.base import Capabilities, CatalogChange, Receipt, TransientError
from agi.catalog import Catalog
from agi.tickets import Ticket


class JournalPos:
    name = "journal"
    capabilities = Capabilities(native_idempotency=False)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, ref TEXT, pid INTEGER)")
            db.execute("CREATE TABLE IF NOT EXISTS calls (kind TEXT, ref TEXT)")
        self.fail_next: list[TransientError] = []

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def fetch_catalog(self) -> Catalog:
        raise NotImplementedError

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        db = self._db()
        db.execute("INSERT INTO calls VALUES ('submit', ?)", (key,))
        if self.fail_next:
            raise self.fail_next.pop(0)
        oid = db.execute("INSERT INTO orders(ref, pid) VALUES (?, ?)", (key, os.getpid())).lastrowid
        db.close()
        pause = os.environ.get("JOURNAL_PAUSE_S")
        if pause:
            time.sleep(float(pause))
        return Receipt(self.name, str(oid), key)

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        db = self._db()
        db.execute("INSERT INTO calls VALUES ('find', ?)", (key,))
        row = db.execute("SELECT id FROM orders WHERE ref = ? ORDER BY id LIMIT 1", (key,)).fetchone()
        db.close()
        return None if row is None else Receipt(self.name, str(row[0]), key)

    def cancel(self, receipt: Receipt) -> None:
        raise NotImplementedError

    def parse_webhook(self, headers, body) -> CatalogChange | None:
        return None

    def orders(self) -> dict[str, int]:
        db = self._db()
        counts = dict(db.execute("SELECT ref, count(*) FROM orders GROUP BY ref").fetchall())
        db.close()
        return counts

    def calls(self, kind: str) -> list[str]:
        db = self._db()
        rows = [r for (r,) in db.execute("SELECT ref FROM calls WHERE kind = ?", (kind,))]
        db.close()
        return rows
