"""Fixtures for the operations tests: a private copy of two Playbooks, a
committer for simulated calls, and a helper that edits a file the way an
editor does (new content, new mtime)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from agi import events as ev
from agi.simulate import Script
from agi.tickets import Ticket

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"

_PIZZA_ORDER = {
    "caller": {"number": "+15551234567", "language": "en"},
    "at": "2026-11-20T17:30:00",
    "say": ["hi, two large pepperoni pizzas for pickup please", "that's all", "no thanks", "Maria", "yes", "yes"],
}


@pytest.fixture
def pizza_order() -> Script:
    """Two large pepperoni pizzas for pickup, confirmed: a committed call."""
    return Script.model_validate(_PIZZA_ORDER)


@pytest.fixture
def pb_dir(tmp_path: Path) -> Path:
    d = tmp_path / "playbooks"
    (d / "catalogs").mkdir(parents=True)
    for name in ("pizzeria", "cafe"):
        shutil.copy(PLAYBOOKS / f"{name}.yaml", d / f"{name}.yaml")
        shutil.copy(PLAYBOOKS / "catalogs" / f"{name}.yaml", d / "catalogs" / f"{name}.yaml")
    return d


def _edit(path: Path, old: str, new: str) -> None:
    """Replace text in a file and move its mtime forward (coarse-mtime filesystems)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    later = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(later, later))


@pytest.fixture
def edit():
    return _edit


class SqliteCommitter:
    """Commits tickets into an SQLite orders table, once per idempotency key."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS orders (key TEXT PRIMARY KEY, id TEXT, total INTEGER)")

    def __call__(self, ticket: Ticket, key: str) -> ev.CommitDone:
        order_id = uuid.uuid4().hex[:8]
        self.db.execute("INSERT OR IGNORE INTO orders VALUES (?, ?, ?)", (key, order_id, ticket.total_minor))
        self.db.commit()
        (stored,) = self.db.execute("SELECT id FROM orders WHERE key = ?", (key,)).fetchone()
        return ev.CommitDone(stored, key, "local")


@pytest.fixture
def committer(tmp_path: Path) -> SqliteCommitter:
    return SqliteCommitter(tmp_path / "orders.sqlite3")


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_dsn():
    """A throwaway PostgreSQL cluster (Debian's postgresql package), on a Unix socket."""
    import getpass
    import socket
    import subprocess
    import tempfile

    bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql): scripts/setup.sh installs it")
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="callticket-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix: list[str] = []
    user = getpass.getuser()
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres"
        prefix = ["runuser", "-u", user, "--"]
        shutil.chown(base, user)
        shutil.chown(sock, user)
        os.chmod(base, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
        f"-k {sock} -p {port} -c listen_addresses=''", "start")
    try:
        yield f"postgresql://{user}@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
