"""Call records say what happened: two PBXes' calls stay two calls, an unanswered
command is an error (not a hang-up), and a records database that is down at
start leaves the worker serving and `/readyz` saying why."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import uuid as uuidlib
from pathlib import Path

import httpx
import pytest

from agi import events as ev
from agi.ops_http import Lifecycle
from agi.pbx.asterisk.audiosocket import FRAME_BYTES, Kind, encode_frame
from agi.pbx.asterisk.fastagi import AgiChannel
from agi.pbx.asterisk.worker import AsteriskWorker, CallOutcome, WorkerConfig
from agi.records import CallRecords

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("agi_network: yes\nagi_network_script: shop\nagi_request: agi://127.0.0.1/shop\n"
          "agi_channel: PJSIP/trunk-0001\nagi_uniqueid: 1700000000.7\nagi_callerid: +15551234567\n\n")
TARGET = ev.TransferTarget(id="front-counter", dial="PJSIP/100")


async def _line(r: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(r.readuntil(b"\n"), 10)).decode().strip()


async def _call(port: int, source: str, answer_after_media: bool = True) -> list[str]:
    """Asterisk's side of one call from `source` (a loopback address); the commands it was sent."""
    r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    sent = []
    try:
        w.write(HEADER.encode())
        sent.append(await _line(r))  # ANSWER
        w.write(b"200 result=0\n")
        exec_line = await _line(r)
        m = re.match(r'EXEC AudioSocket "([0-9a-f-]+),([\d.]+):(\d+)"', exec_line)
        ar, aw = await asyncio.open_connection(m.group(2), int(m.group(3)))
        aw.write(encode_frame(Kind.UUID, uuidlib.UUID(m.group(1)).bytes))
        aw.write(encode_frame(Kind.AUDIO, b"\x01\x02" * (FRAME_BYTES // 2)))
        await ar.read()
        aw.close()
        w.write(b"200 result=0\n")
        while True:  # answer what follows, or fall silent
            line = await _line(r)
            sent.append(line)
            if not answer_after_media:
                await asyncio.sleep(2.0)
                break
            w.write(b"200 result=1\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
        pass
    finally:
        w.close()
    return sent


def _worker(records: CallRecords, outcome: CallOutcome) -> AsteriskWorker:
    async def runner(info, stream) -> CallOutcome:
        async for event in stream.events():
            if isinstance(event, ev.AudioIn):
                return outcome
        return outcome

    return AsteriskWorker(WorkerConfig(agi_port=0, audiosocket_port=0, busy_prompt=""), lambda info: runner,
                          Lifecycle(records=records))


def test_the_same_call_id_from_two_asterisk_servers_makes_two_records(tmp_path):
    records = CallRecords(f"sqlite:{tmp_path / 'calls.sqlite3'}")

    async def go() -> None:
        w = _worker(records, CallOutcome(reason="done", outcome="committed"))
        await w.start()
        await asyncio.gather(_call(w.agi.port, "127.0.0.1"), _call(w.agi.port, "127.0.0.2"))
        await w.close()

    asyncio.run(go())
    calls = records.list()
    assert sorted((c.server, c.call_id, c.outcome) for c in calls) == [
        ("127.0.0.1", "1700000000.7", "committed"), ("127.0.0.2", "1700000000.7", "committed")]
    assert records.get("127.0.0.2/1700000000.7").server == "127.0.0.2"
    assert records.get("1700000000.7") is None  # ambiguous: `calls show` asks for the server


def test_an_unanswered_command_is_an_error_not_a_hang_up(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(AgiChannel.command, "__defaults__", (0.5,))
    records = CallRecords(f"sqlite:{tmp_path / 'calls.sqlite3'}")

    async def go() -> list[str]:
        w = _worker(records, CallOutcome(transfer=ev.Transfer(TARGET, "caller asked"), reason="transfer",
                                         outcome="transferred"))
        await w.start()
        sent = await _call(w.agi.port, "127.0.0.1", answer_after_media=False)
        await asyncio.sleep(0.3)
        await w.close()
        return sent

    with caplog.at_level(logging.DEBUG):
        sent = asyncio.run(go())
    assert sent[-1].startswith("SET VARIABLE __CALLTICKET_REASON")  # the transfer began, Asterisk fell silent
    (record,) = records.list()
    assert record.outcome == "error"
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "no reply" in said and "hung up" not in said


def test_records_kept_before_servers_were_recorded_are_kept(tmp_path):
    path = tmp_path / "calls.sqlite3"
    with sqlite3.connect(path) as db:  # the table as an earlier version wrote it
        db.execute("CREATE TABLE call_records (call_id TEXT PRIMARY KEY, started_at DOUBLE PRECISION NOT NULL, "
                   "ended_at DOUBLE PRECISION, pbx TEXT NOT NULL, route TEXT, playbook TEXT, caller TEXT, "
                   "language TEXT, outcome TEXT, ticket TEXT, pos TEXT, transfer_reason TEXT, transfer_target TEXT, "
                   "turns TEXT NOT NULL DEFAULT '[]', audio_path TEXT)")
        db.execute("INSERT INTO call_records (call_id, started_at, pbx, outcome) VALUES ('old-1', ?, 'asterisk', "
                   "'committed')", (time.time(),))
    records = CallRecords(f"sqlite:{path}")
    assert records.get("old-1").outcome == "committed"
    records.start("old-1", pbx="asterisk", server="10.0.0.2")  # the same id from a named server: a new call
    assert len(records.list()) == 2


def test_records_on_postgresql_are_keyed_by_server_too(postgres_dsn):
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as db:  # the table as an earlier version wrote it
        db.execute("CREATE TABLE call_records (call_id TEXT PRIMARY KEY, started_at DOUBLE PRECISION NOT NULL, "
                   "ended_at DOUBLE PRECISION, pbx TEXT NOT NULL, route TEXT, playbook TEXT, caller TEXT, "
                   "language TEXT, outcome TEXT, ticket TEXT, pos TEXT, transfer_reason TEXT, transfer_target TEXT, "
                   "turns TEXT NOT NULL DEFAULT '[]', audio_path TEXT)")
        db.execute("INSERT INTO call_records (call_id, started_at, pbx) VALUES ('x-1', %s, 'asterisk')", (time.time(),))
    records = CallRecords(postgres_dsn)
    try:
        records.start("x-1", pbx="asterisk", server="10.0.0.1")
        records.start("x-1", pbx="asterisk", server="10.0.0.2")
        records.finish("x-1", {"outcome": "committed"}, server="10.0.0.2")
        assert sorted((c.server, c.outcome) for c in records.list()) == [
            ("", None), ("10.0.0.1", None), ("10.0.0.2", "committed")]
    finally:
        records.db.execute("DROP TABLE call_records")
        records.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _english_playbooks(tmp_path: Path) -> Path:
    playbooks = tmp_path / "playbooks"
    (playbooks / "catalogs").mkdir(parents=True)
    (playbooks / "catalogs" / "pizzeria.yaml").write_text((ROOT / "playbooks" / "catalogs" / "pizzeria.yaml").read_text())
    (playbooks / "pizzeria.yaml").write_text(
        (ROOT / "playbooks" / "pizzeria.yaml").read_text().replace("languages: [en, es, zh]", "languages: [en]"))
    return playbooks


@pytest.mark.parametrize("command, started", [("serve-agi", "FastAGI on"), ("serve-esl", "outbound Event Socket on")])
def test_a_worker_starts_when_the_records_database_is_down_and_readyz_says_so(tmp_path, command, started):
    metrics_port, dead_pg = _free_port(), _free_port()
    config = tmp_path / "callticket.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        f"playbooks: {{dir: {_english_playbooks(tmp_path)}, watch: false}}\n"
        f"asterisk: {{agi: {{port: {_free_port()}}}, audiosocket: {{port: {_free_port()}}}}}\n"
        f"freeswitch: {{esl: {{port: {_free_port()}}}}}\n"
        f"outbox: {{dsn: 'postgresql://callticket@127.0.0.1:{dead_pg}/callticket'}}\n"
        f"metrics: {{ports: {{serve_agi: {metrics_port if command == 'serve-agi' else _free_port()}, "
        f"serve_esl: {metrics_port if command == 'serve-esl' else _free_port()}, outbox: {_free_port()}}}}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "agi.cli", command, "--config", str(config)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = ""
    try:
        deadline = time.monotonic() + 90
        while not (started in seen and "metrics and health on" in seen) and time.monotonic() < deadline \
                and proc.poll() is None:
            seen += proc.stderr.readline()
        assert started in seen and "metrics and health on" in seen, seen[-3000:]
        records = httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=10).json()["checks"]["records"]
        assert records["ok"] is False and "unreachable" in records["detail"], records
    finally:
        proc.terminate()
        seen += proc.communicate(timeout=30)[1]
    assert "Traceback" not in seen, seen[-3000:]


def test_readyz_waits_for_the_speech_models(tmp_path):
    playbooks = _english_playbooks(tmp_path)
    metrics_port = _free_port()
    config = tmp_path / "callticket.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        f"playbooks: {{dir: {playbooks}, watch: false}}\n"
        f"asterisk: {{agi: {{port: {_free_port()}}}, audiosocket: {{port: {_free_port()}}}}}\n"
        f"metrics: {{ports: {{serve_agi: {metrics_port}, serve_esl: {_free_port()}, outbox: {_free_port()}}}}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "agi.cli", "serve-agi", "--config", str(config)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        seen = ""
        while "FastAGI on" not in seen and proc.poll() is None:
            seen += proc.stderr.readline()
        early = httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=10)
        assert early.status_code == 503 and early.json()["checks"]["speech"]["ok"] is False, early.text
        while "speech ready" not in seen and proc.poll() is None:
            seen += proc.stderr.readline()
        ready = httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["speech"]["ok"], ready.text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
