"""Call records: one row per call, for the operator's `callticket calls`.

SQLite in the data directory by default; the outbox's PostgreSQL when the
outbox uses one (several workers, one list of calls).

    records = CallRecords.from_config(config)     # None when records.enabled is false
    records.start(call_id, pbx="asterisk", server="10.0.0.5", route="pizzeria", caller="+15551234567")
    sink = records.audio_sink(call_id, 8000)    # None unless records.store_audio
    ...
    records.finish(call_id, result, server="10.0.0.5")   # the simulate-shaped result: outcome, ticket, turns
    records.list(since=..., outcome="committed"); records.get("10.0.0.5/" + call_id)
    records.purge()                   # older than retention_days (also run hourly by finish)
    records.check()                   # (ok, detail) for /readyz

A record is keyed by the PBX server and its call id: two Asterisk servers
sharing one PostgreSQL both number their calls `1700000000.1`, and each call
keeps a record of its own. The database is reached on first use, and again
after it failed (at most every RETRY_S): a worker starts, and its calls run,
while the records database is down; `check()` says so for /readyz.

What is stored: call id, start/end, PBX, route, Playbook, the caller number
MASKED, language, turns (heard, said, latency_ms), outcome, ticket (customer
phone masked), POS receipt, transfer reason and target and how the bridge
ended (who answered, or why nobody did). Every text goes through
`agi.logs.scrub` first, so a secret that leaked into an error string is not
kept. Caller audio is written only when the config sets `store_audio: true`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from agi import logs, sqldb
from agi.dialogue.policy import mask_number

log = logging.getLogger("callticket.records")

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_records (
    server TEXT NOT NULL DEFAULT '',
    call_id TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    pbx TEXT NOT NULL,
    route TEXT,
    playbook TEXT,
    caller TEXT,
    language TEXT,
    outcome TEXT,
    ticket TEXT,
    pos TEXT,
    transfer_reason TEXT,
    transfer_target TEXT,
    turns TEXT NOT NULL DEFAULT '[]',
    audio_path TEXT,
    transfer_result TEXT,
    PRIMARY KEY (server, call_id)
)
"""
# Columns added since the first release: (name, type), added to an older table at open.
ADDED_COLUMNS = (("transfer_result", "TEXT"),)
INDEX = "CREATE INDEX IF NOT EXISTS call_records_started ON call_records (started_at)"
OLD_COLUMNS = ("call_id", "started_at", "ended_at", "pbx", "route", "playbook", "caller", "language", "outcome",
           "ticket", "pos", "transfer_reason", "transfer_target", "turns", "audio_path")
COLUMNS = ("server", *OLD_COLUMNS, "transfer_result")
PURGE_EVERY_S = 3600.0
RETRY_S = 30.0  # a records database that failed is tried again at most this often


class RecordsUnavailable(Exception):
    """The records database cannot be reached now (the call goes on without its record)."""


@dataclass
class CallRecord:
    call_id: str
    started_at: float
    pbx: str
    server: str = ""  # the PBX that numbered the call (Asterisk: the FastAGI peer's address)
    ended_at: float | None = None
    route: str | None = None
    playbook: str | None = None
    caller: str | None = None
    language: str | None = None
    outcome: str | None = None  # None while the call is in progress
    ticket: dict[str, Any] | None = None
    pos: dict[str, Any] | None = None
    transfer_reason: str | None = None
    transfer_target: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    audio_path: str | None = None
    # how the bridge ended: {"result": answered | no_answer | busy | declined | failed,
    # "answered_by", "cause", "voicemail"} (agi.handoff)
    transfer_result: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        """How `calls show` names this call: `server/call_id`, or the call id alone."""
        return f"{self.server}/{self.call_id}" if self.server else self.call_id

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = _iso(self.started_at)
        out["ended_at"] = _iso(self.ended_at)
        return out


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


class _Db:
    """The few statements records need, on SQLite or PostgreSQL; connected on first use."""

    def __init__(self, dsn: str, password: str | None = None, connect_timeout_s: int = 5):
        self.dsn = dsn
        self.password = password
        self.connect_timeout_s = connect_timeout_s
        self.postgres = sqldb.is_postgres(dsn)
        self.lock = threading.Lock()
        self.conn: Any = None
        self.error: str | None = None
        self._retry_at = 0.0

    def _open(self) -> Any:
        conn = sqldb.connect(self.dsn, self.password, self.connect_timeout_s)
        if self.postgres:
            with conn.transaction():  # several workers may start at once
                conn.execute("SELECT pg_advisory_xact_lock(4242002)")
                _migrate(conn, postgres=True)
            return conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            _migrate(conn, postgres=False)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self.run(sql, params)[0]

    def run(self, sql: str, params: Iterable[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        """(rows, rowcount) of one statement; RecordsUnavailable when the database cannot be reached."""
        if self.postgres:
            sql = sql.replace("?", "%s")
        with self.lock:
            if self.conn is None:
                if time.monotonic() < self._retry_at:
                    raise RecordsUnavailable(self.error or "not connected")
                try:
                    self.conn = self._open()
                    self.error = None
                except Exception as exc:
                    self._failed(exc)
            try:
                cur = self.conn.execute(sql, tuple(params))
                rows = cur.fetchall() if cur.description else []
                return rows, cur.rowcount
            except Exception as exc:
                if self.postgres and (self.conn.closed or self.conn.broken):  # the server went away
                    self.conn = None
                    self._failed(exc)
                raise

    def _failed(self, exc: Exception) -> None:
        self.error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        self._retry_at = time.monotonic() + RETRY_S
        raise RecordsUnavailable(self.error) from None

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


def _migrate(conn: Any, postgres: bool) -> None:
    """The table, keyed by (server, call_id); a table of an earlier version (keyed by call_id) is
    converted in place, its calls keeping an empty server."""
    if postgres:
        old = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'call_records' "
                           "AND table_schema = current_schema()").fetchone()
        has_server = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'call_records' "
                                  "AND table_schema = current_schema() AND column_name = 'server'").fetchone()
        if old and not has_server:
            conn.execute("ALTER TABLE call_records ADD COLUMN server TEXT NOT NULL DEFAULT ''")
            conn.execute("ALTER TABLE call_records DROP CONSTRAINT call_records_pkey")
            conn.execute("ALTER TABLE call_records ADD PRIMARY KEY (server, call_id)")
    else:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(call_records)").fetchall()}
        if columns and "server" not in columns:
            conn.execute("ALTER TABLE call_records RENAME TO call_records_v1")
            conn.execute("DROP INDEX IF EXISTS call_records_started")
            conn.execute(SCHEMA)
            kept = ", ".join(OLD_COLUMNS)
            conn.execute(f"INSERT INTO call_records ({kept}) SELECT {kept} FROM call_records_v1")
            conn.execute("DROP TABLE call_records_v1")
    conn.execute(SCHEMA)
    conn.execute(INDEX)
    for name, kind in ADDED_COLUMNS:  # a table of an earlier release gains the columns added since
        if postgres:
            have = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'call_records' "
                                "AND table_schema = current_schema() AND column_name = %s", (name,)).fetchone()
        else:
            have = name in {row[1] for row in conn.execute("PRAGMA table_info(call_records)").fetchall()}
        if not have:
            conn.execute(f"ALTER TABLE call_records ADD COLUMN {name} {kind}")


class AudioSink:
    """Caller audio of one call, written to a WAV file as it arrives."""

    def __init__(self, path: Path, sample_rate: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)

    def close(self) -> None:
        self._wav.close()


class CallRecords:
    def __init__(
        self,
        dsn: str,
        *,
        audio_dir: Path | None = None,
        store_audio: bool = False,
        retention_days: int = 90,
        password: str | None = None,
        scrub: Callable[[Any], Any] = logs.scrub,
        clock: Callable[[], float] = time.time,
    ):
        self.db = _Db(dsn, password)
        self.audio_dir = audio_dir
        self.store_audio = store_audio and audio_dir is not None
        self.retention_days = retention_days
        self.scrub = scrub
        self.clock = clock
        self._last_purge = 0.0
        try:
            self.purge()  # at open, then hourly from finish()
        except RecordsUnavailable as exc:
            log.error("call records unavailable: %s; calls go on without them until the database answers", exc)

    @classmethod
    def from_config(cls, config: Any) -> "CallRecords | None":
        """From an `agi.config.WorkerConfig`; None when `records.enabled` is false."""
        if not config.records.enabled:
            return None
        password = config.outbox.password.value() if config.outbox.password else None
        return cls(
            config.records_dsn,
            audio_dir=config.data_dir / "audio",
            store_audio=config.records.store_audio,
            retention_days=config.records.retention_days,
            password=password,
        )

    # ------------------------------------------------------------- writing

    def start(self, call_id: str, *, pbx: str, server: str = "", route: str | None = None,
              caller: str | None = None, language: str | None = None, playbook: str | None = None,
              started_at: float | None = None) -> None:
        """A call began (it lists with no outcome until `finish`)."""
        self.db.execute(
            "INSERT INTO call_records (server, call_id, started_at, pbx, route, playbook, caller, language) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (server, call_id) DO NOTHING",
            (server, call_id, started_at or self.clock(), pbx, route, playbook, mask_number(caller) or None,
             language),
        )

    def finish(self, call_id: str, result: dict[str, Any], *, server: str = "", language: str | None = None,
               ended_at: float | None = None, audio_path: Path | None = None, pbx: str = "unknown") -> None:
        """Store how the call ended: `result` has the simulate shape (outcome,
        ticket, transfer, pos, turns); turns are {heard, bot|said, latency_ms}."""
        transfer = result.get("transfer") or {}
        bridge = {k: transfer.get(k) for k in ("result", "answered_by", "cause", "voicemail")} \
            if transfer.get("result") else None
        ticket = self.scrub(result.get("ticket"))
        turns = [
            {"heard": t.get("heard", ""), "said": t.get("said", t.get("bot", "")), "latency_ms": t.get("latency_ms")}
            for t in result.get("turns") or []
        ]
        stored_audio = str(audio_path) if audio_path and self.store_audio else None
        params = (
            ended_at or self.clock(),
            result.get("outcome") or "hung_up",
            _json(ticket),
            _json(self.scrub(result.get("pos"))),
            self.scrub(transfer.get("reason")),
            transfer.get("target"),
            _json(self.scrub(turns)),
            stored_audio,
            _json(self.scrub(bridge)),
            language,
            server,
            call_id,
        )
        update = (
            "UPDATE call_records SET ended_at = ?, outcome = ?, ticket = ?, pos = ?, transfer_reason = ?, "
            "transfer_target = ?, turns = ?, audio_path = ?, transfer_result = ?, language = COALESCE(?, language) "
            "WHERE server = ? AND call_id = ?"
        )
        if self.db.run(update, params)[1] == 0:  # finish without start: a driver that records only at the end
            self.start(call_id, pbx=pbx, server=server, started_at=params[0])
            self.db.execute(update, params)
        if self.clock() - self._last_purge > PURGE_EVERY_S:
            self.purge()

    def audio_sink(self, call_id: str, sample_rate: int) -> AudioSink | None:
        """Where to write the caller's audio, or None (the default: not stored)."""
        if not self.store_audio or self.audio_dir is None:
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)
        return AudioSink(self.audio_dir / f"{safe}.wav", sample_rate)

    def purge(self, now: float | None = None) -> int:
        """Delete records (and their audio) older than the retention period."""
        now = self.clock() if now is None else now
        self._last_purge = now
        cutoff = now - self.retention_days * 86400
        for (path,) in self.db.execute(
            "SELECT audio_path FROM call_records WHERE started_at < ? AND audio_path IS NOT NULL", (cutoff,)
        ):
            Path(path).unlink(missing_ok=True)
        return max(self.db.run("DELETE FROM call_records WHERE started_at < ?", (cutoff,))[1], 0)

    # ------------------------------------------------------------- reading

    def get(self, ref: str) -> CallRecord | None:
        """The call named `ref`: its id, `server/id`, or an unambiguous prefix of either; None when
        nothing matches or several calls do (two servers' calls with one id: name the server)."""
        select = f"SELECT {', '.join(COLUMNS)} FROM call_records WHERE "
        rows = self.db.execute(select + "call_id = ? LIMIT 2", (ref,))
        server, slash, call_id = ref.rpartition("/")
        if not rows and slash:
            rows = self.db.execute(select + "server = ? AND call_id = ?", (server, call_id))
        if not rows:
            prefix = call_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where, params = "call_id LIKE ? ESCAPE '\\'", [prefix]
            if slash:
                where, params = "server = ? AND " + where, [server, prefix]
            rows = self.db.execute(select + where + " ORDER BY started_at DESC LIMIT 2", params)
        if len(rows) != 1:  # unambiguous only
            return None
        return _record(rows[0])

    def check(self) -> tuple[bool, str]:
        """For /readyz: can call records be written now?"""
        try:
            self.db.execute("SELECT 1")
        except RecordsUnavailable as exc:
            return False, f"records database unreachable: {exc}"
        return True, "postgresql" if self.db.postgres else "sqlite"

    def list(self, since: float | None = None, outcome: str | None = None, limit: int = 100) -> list[CallRecord]:
        """Newest first. `outcome='in_progress'` lists calls without one yet."""
        where, params = [], []
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if outcome == "in_progress":
            where.append("outcome IS NULL")
        elif outcome:
            where.append("outcome = ?")
            params.append(outcome)
        sql = f"SELECT {', '.join(COLUMNS)} FROM call_records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC LIMIT ?"
        params.append(limit)
        return [_record(r) for r in self.db.execute(sql, params)]

    def close(self) -> None:
        self.db.close()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _record(row: tuple[Any, ...]) -> CallRecord:
    d = dict(zip(COLUMNS, row))
    for key in ("ticket", "pos", "transfer_result"):
        d[key] = json.loads(d[key]) if d[key] else None
    d["turns"] = json.loads(d["turns"] or "[]")
    return CallRecord(**d)
