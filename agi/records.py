"""Call records: one row per call, for the operator's `callticket calls`.

SQLite in the data directory by default; the outbox's PostgreSQL when the
outbox uses one (several workers, one list of calls).

    records = CallRecords.from_config(config)     # None when records.enabled is false
    records.start(call_id, pbx="asterisk", route="pizzeria", caller="+15551234567", language="en")
    sink = records.audio_sink(call_id, 8000)    # None unless records.store_audio
    ...
    records.finish(call_id, result)   # the simulate-shaped result: outcome, ticket, transfer, pos, turns
    records.list(since=..., outcome="committed"); records.get(call_id)
    records.purge()                   # older than retention_days (also run hourly by finish)

What is stored: call id, start/end, PBX, route, Playbook, the caller number
MASKED, language, turns (heard, said, latency_ms), outcome, ticket (customer
phone masked), POS receipt, transfer reason and target and how the bridge
ended (who answered, or why nobody did). Every text goes through
`agi.logs.scrub` first, so a secret that leaked into an error string is not
kept. Caller audio is written only when the config sets `store_audio: true`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from agi import logs
from agi.dialogue.policy import mask_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_records (
    call_id TEXT PRIMARY KEY,
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
    transfer_result TEXT
)
"""
# Columns added since the first release: (name, type), added to an older table at open.
ADDED_COLUMNS = (("transfer_result", "TEXT"),)
INDEX = "CREATE INDEX IF NOT EXISTS call_records_started ON call_records (started_at)"
COLUMNS = ("call_id", "started_at", "ended_at", "pbx", "route", "playbook", "caller", "language", "outcome",
           "ticket", "pos", "transfer_reason", "transfer_target", "turns", "audio_path", "transfer_result")
PURGE_EVERY_S = 3600.0


@dataclass
class CallRecord:
    call_id: str
    started_at: float
    pbx: str
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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = _iso(self.started_at)
        out["ended_at"] = _iso(self.ended_at)
        return out


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


class _Db:
    """The few statements records need, on SQLite or PostgreSQL."""

    def __init__(self, dsn: str, password: str | None = None, connect_timeout_s: int = 5):
        self.postgres = dsn.startswith(("postgresql://", "postgres://"))
        self.lock = threading.Lock()
        if self.postgres:
            import psycopg

            kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": connect_timeout_s}
            if password:
                kwargs["password"] = password
            self.conn: Any = psycopg.connect(dsn, **kwargs)
        else:
            path = Path(dsn.removeprefix("sqlite:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA busy_timeout=10000")
        self.execute(SCHEMA)
        self.execute(INDEX)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A table made by an older release gains the columns added since."""
        for name, kind in ADDED_COLUMNS:
            try:
                self.execute(f"SELECT {name} FROM call_records WHERE 1 = 0")
            except Exception:  # noqa: BLE001 (sqlite3 and psycopg name it differently: no such column)
                self.execute(f"ALTER TABLE call_records ADD COLUMN {name} {kind}")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self.run(sql, params)[0]

    def run(self, sql: str, params: Iterable[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        """(rows, rowcount) of one statement."""
        if self.postgres:
            sql = sql.replace("?", "%s")
        with self.lock:
            cur = self.conn.execute(sql, tuple(params))
            rows = cur.fetchall() if cur.description else []
            return rows, cur.rowcount

    def close(self) -> None:
        with self.lock:
            self.conn.close()


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
        self.purge()  # at open, then hourly from finish()

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

    def start(self, call_id: str, *, pbx: str, route: str | None = None, caller: str | None = None,
              language: str | None = None, playbook: str | None = None, started_at: float | None = None) -> None:
        """A call began (it lists with no outcome until `finish`)."""
        self.db.execute(
            "INSERT INTO call_records (call_id, started_at, pbx, route, playbook, caller, language) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING",
            (call_id, started_at or self.clock(), pbx, route, playbook, mask_number(caller) or None, language),
        )

    def finish(self, call_id: str, result: dict[str, Any], *, language: str | None = None,
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
            call_id,
        )
        update = (
            "UPDATE call_records SET ended_at = ?, outcome = ?, ticket = ?, pos = ?, transfer_reason = ?, "
            "transfer_target = ?, turns = ?, audio_path = ?, transfer_result = ?, language = COALESCE(?, language) "
            "WHERE call_id = ?"
        )
        if self.db.run(update, params)[1] == 0:  # finish without start: a driver that records only at the end
            self.start(call_id, pbx=pbx, started_at=params[0])
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

    def get(self, call_id: str) -> CallRecord | None:
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM call_records WHERE call_id = ?", (call_id,))
        if not rows:
            prefix = call_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM call_records WHERE call_id LIKE ? ESCAPE '\\' "
                "ORDER BY started_at DESC LIMIT 2",
                (prefix,),
            )
            if len(rows) != 1:  # an unambiguous prefix only
                return None
        return _record(rows[0])

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
