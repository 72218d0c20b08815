"""POS contract tests: fake vendor servers on 127.0.0.1 (see pos_fakes/)."""

from __future__ import annotations

import sys
from pathlib import Path

# The fakes are a package beside the tests, importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import pytest

_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster from the Debian package, started for this test run."""
    from agi.outbox_pgserver import PgServerError, TempPostgres

    server = TempPostgres()
    try:
        server.start()
    except PgServerError as exc:
        server.stop()
        pytest.fail(f"cannot start PostgreSQL for the outbox tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(postgres) -> str:
    """A fresh, empty database in the session's cluster."""
    import psycopg

    name = f"t{next(_db_numbers)}"
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return postgres.dsn.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def outbox_dsn(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "outbox.sqlite3")
    return request.getfixturevalue("pg_dsn")
