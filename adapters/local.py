"""The embedded POS: a SQLite database in the data directory.

The catalog comes from the business's catalog YAML file and is copied into
SQLite, where staff can mark things out of stock (`callticket pos 86 ID`)
without touching the file; orders land in the same database. `submit` is
idempotent on the key exactly as Square's CreateOrder is: the same key with the
same ticket returns the first order, the same key with a different ticket is
refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.base import Capabilities, CatalogChange, PermanentError, Receipt, SignatureError, lower_headers
from agi.catalog import Catalog, load_catalog
from agi.tickets import Ticket

DB_NAME = "local_pos.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
    location   TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    source_mtime REAL NOT NULL,
    body       TEXT NOT NULL,
    loaded_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS availability (
    location   TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    available  INTEGER NOT NULL,
    changed_at REAL NOT NULL,
    PRIMARY KEY (location, object_id)
);
CREATE TABLE IF NOT EXISTS orders (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    location   TEXT NOT NULL,
    ticket     TEXT NOT NULL,
    ticket_hash TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'open',
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class LocalOrder:
    order_id: str
    idempotency_key: str
    location: str
    ticket: Ticket
    status: str
    created_at: datetime
    channel: str


def order_number(seq: int) -> str:
    """Short enough to read to a caller: 1001, 1002, ..."""
    return str(1000 + seq)


def _ticket_hash(ticket: Ticket) -> str:
    return hashlib.sha256(ticket.model_dump_json().encode()).hexdigest()


class LocalPos:
    name = "local"
    capabilities = Capabilities(
        bookings=True, deferred_payment=True, native_idempotency=True, channel_tag="native", catalog_webhooks=True
    )

    def __init__(self, data_dir: Path, catalog_path: Path, location: str | None = None,
                 webhook_secret: str | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog_path = Path(catalog_path)
        self.location = location or self.catalog_path.stem
        self.db_path = self.data_dir / DB_NAME
        self.webhook_secret = webhook_secret
        self._local = threading.local()
        self._db().executescript(_SCHEMA)

    # ------------------------------------------------------------ database

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an order the caller heard must survive power loss
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def _tx(self) -> _Tx:
        return _Tx(self._db())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------- catalog

    def _base_catalog(self) -> Catalog:
        """The catalog file as last imported; re-imported when the file changes."""
        mtime = self.catalog_path.stat().st_mtime
        db = self._db()
        row = db.execute(
            "SELECT source, source_mtime, body FROM catalog WHERE location = ?", (self.location,)
        ).fetchone()
        if row is not None and row[0] == str(self.catalog_path) and row[1] == mtime:
            return Catalog.model_validate_json(row[2])
        catalog = load_catalog(self.catalog_path)
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO catalog(location, source, source_mtime, body, loaded_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(location) DO UPDATE SET source=excluded.source, source_mtime=excluded.source_mtime, "
                "body=excluded.body, loaded_at=excluded.loaded_at",
                (self.location, str(self.catalog_path), mtime, catalog.model_dump_json(), time.time()),
            )
        return catalog

    def fetch_catalog(self) -> Catalog:
        catalog = self._base_catalog()
        rows = self._db().execute(
            "SELECT object_id, available FROM availability WHERE location = ?", (self.location,)
        ).fetchall()
        if not rows:
            return catalog
        known = set(catalog.ids())
        return catalog.with_availability({oid: bool(av) for oid, av in rows if oid in known})

    def set_available(self, object_id: str, available: bool) -> CatalogChange:
        """Mark an item, variation or modifier in or out of stock (86)."""
        if object_id not in set(self._base_catalog().ids()):
            raise KeyError(f"no item, variation or modifier '{object_id}' in {self.catalog_path.name}")
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO availability(location, object_id, available, changed_at) VALUES (?,?,?,?) "
                "ON CONFLICT(location, object_id) DO UPDATE SET available=excluded.available, "
                "changed_at=excluded.changed_at",
                (self.location, object_id, int(available), time.time()),
            )
        return CatalogChange("local", self.location, {object_id: available}, event_type="availability")

    # -------------------------------------------------------------- orders

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        if not key:
            raise PermanentError("an order needs an idempotency key")
        digest = _ticket_hash(ticket)
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO orders(idempotency_key, location, ticket, ticket_hash, total_minor, currency, channel,"
                " created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(idempotency_key) DO NOTHING",
                (key, self.location, ticket.model_dump_json(), digest, ticket.total_minor, ticket.currency,
                 ticket.channel, time.time()),
            )
            row = tx.execute(
                "SELECT seq, ticket_hash, status, total_minor, currency FROM orders WHERE idempotency_key = ?", (key,)
            ).fetchone()
        seq, stored_hash, status, total, currency = row
        if stored_hash != digest:
            raise PermanentError(f"idempotency key {key!r} was already used for a different ticket", status=409)
        return self._receipt(seq, key, status, total, currency)

    def _receipt(self, seq: int, key: str, status: str, total: int, currency: str) -> Receipt:
        return Receipt(self.name, order_number(seq), key, status, total, currency, {"location": self.location})

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        row = self._db().execute(
            "SELECT seq, status, total_minor, currency FROM orders WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return self._receipt(row[0], key, row[1], row[2], row[3])

    def cancel(self, receipt: Receipt) -> None:
        with self._tx() as tx:
            cur = tx.execute(
                "UPDATE orders SET status = 'canceled' WHERE idempotency_key = ?", (receipt.idempotency_key,)
            )
        if cur.rowcount == 0:
            raise PermanentError(f"no order {receipt.order_id}", status=404)

    def orders(self, limit: int | None = None, all_locations: bool = False) -> list[LocalOrder]:
        """Orders, newest first."""
        return read_orders(self.db_path, None if all_locations else self.location, limit)

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        """`{"location": .., "availability": {id: bool}}` signed like Revel (HMAC-SHA256, hex).

        Lets a kitchen screen or a script 86 items of the embedded POS over HTTP.
        """
        from adapters.signing import hmac_hex, verify

        if not self.webhook_secret:
            raise SignatureError("the local POS has no webhook secret configured")
        h = lower_headers(headers)
        verify(h.get("x-callticket-signature", ""), hmac_hex(self.webhook_secret, body, "sha256"))
        try:
            data = json.loads(body)
            availability = {str(k): bool(v) for k, v in data.get("availability", {}).items()}
        except (ValueError, AttributeError) as exc:
            raise SignatureError(f"malformed local webhook body: {exc}") from exc
        for object_id, available in availability.items():
            self.set_available(object_id, available)
        return CatalogChange("local", data.get("location", self.location), availability, event_type="availability")


def read_orders(db_path: Path, location: str | None = None, limit: int | None = None) -> list[LocalOrder]:
    """Orders in a local POS database, newest first (no catalog needed)."""
    if not Path(db_path).exists():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        sql = "SELECT seq, idempotency_key, location, ticket, status, created_at, channel FROM orders"
        args: list[Any] = []
        if location is not None:
            sql += " WHERE location = ?"
            args.append(location)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [
            LocalOrder(order_number(seq), key, loc, Ticket.model_validate_json(body), status,
                       datetime.fromtimestamp(created, UTC), channel)
            for seq, key, loc, body, status, created, channel in db.execute(sql, args)
        ]
    finally:
        db.close()


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time, no upgrade deadlocks."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
