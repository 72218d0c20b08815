"""One connection to the database a worker keeps its own state in: SQLite in the
data directory by default, or the outbox's PostgreSQL (call records, the webhook ledger).

    conn = sqldb.connect("sqlite:/var/lib/callticket/calls.sqlite3")   # or postgresql://...
    conn.execute(sql, params)   # autocommit; "?" placeholders on SQLite, "%s" on PostgreSQL
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def is_postgres(dsn: str) -> bool:
    return dsn.startswith(("postgresql://", "postgres://"))


def connect(dsn: str, password: str | None = None, connect_timeout_s: int = 5, busy_timeout_s: int = 10) -> Any:
    """An autocommit connection; SQLite in WAL mode, waiting up to `busy_timeout_s` for a writer."""
    if is_postgres(dsn):
        import psycopg

        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": connect_timeout_s}
        if password:
            kwargs["password"] = password
        return psycopg.connect(dsn, **kwargs)
    import sqlite3

    path = dsn.removeprefix("sqlite:")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_s * 1000}")
    return conn
