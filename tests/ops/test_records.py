"""Call records: what an operator can look up after a call, and what is never kept."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from agi import logs
from agi.playbook import load_playbook
from agi.records import CallRecords
from agi.simulate import run_script

CALLER = "+15551234567"


@pytest.fixture
def records(tmp_path: Path):
    r = CallRecords(f"sqlite:{tmp_path / 'data' / 'calls.sqlite3'}", audio_dir=tmp_path / "data" / "audio")
    yield r
    r.close()


def test_committed_call_is_recorded_with_masked_numbers(records, pb_dir, committer, pizza_order):
    result = run_script(load_playbook(pb_dir / "pizzeria.yaml"), pizza_order, committer, call_id="call-1")
    records.start("call-1", pbx="asterisk", route="pizzeria", caller=CALLER, language="en", playbook="pizzeria")
    assert records.get("call-1").outcome is None
    assert [r.call_id for r in records.list(outcome="in_progress")] == ["call-1"]
    records.finish("call-1", result)

    r = records.get("call-1")
    assert r.outcome == "committed" and r.pbx == "asterisk" and r.route == "pizzeria" and r.language == "en"
    assert r.caller == "+1555***4567"
    assert r.ticket["total_minor"] == 3398 and r.ticket["customer"]["phone"] == "+1555***4567"
    assert r.pos == result["pos"] and r.pos["order_id"]
    assert r.turns[0] == {"heard": "", "said": result["turns"][0]["bot"], "latency_ms": 0}
    assert [t["heard"] for t in r.turns[1:]] == pizza_order.say
    assert all(isinstance(t["latency_ms"], int) for t in r.turns)
    assert r.ended_at >= r.started_at
    raw = (records.db.execute("SELECT * FROM call_records"))
    assert CALLER not in json.dumps(raw)


def test_transfer_reason_is_recorded(records, pb_dir, committer):
    from agi.simulate import Script

    script = Script.model_validate({"caller": {"number": "+15556667777"}, "at": "2026-11-20T18:30:00",
                                    "say": ["can I talk to a person please"]})
    result = run_script(load_playbook(pb_dir / "pizzeria.yaml"), script, committer)
    records.finish("call-2", result, pbx="freeswitch")
    r = records.get("call-2")
    assert r.outcome == "transferred" and r.pbx == "freeswitch"
    assert r.transfer_target == "front-counter" and r.transfer_reason


def test_a_records_database_of_an_earlier_release_gains_the_bridges_result(tmp_path: Path):
    """A table made before the bridge's result was recorded: opened, it gains
    the column, keeps its rows, and stores how the next transfer ended."""
    import sqlite3

    from agi.handoff import Handoff, TransferResult, settle
    from agi.records import SCHEMA

    path = tmp_path / "calls.sqlite3"
    old = sqlite3.connect(path)
    old.execute(SCHEMA.replace(",\n    transfer_result TEXT", ""))
    old.execute("INSERT INTO call_records (call_id, started_at, pbx, outcome) VALUES ('old-1', 1.0, 'asterisk', "
                "'committed')")
    old.commit()
    old.close()
    records = CallRecords(f"sqlite:{path}", retention_days=3650, clock=lambda: 2.0)
    try:
        assert records.get("old-1").outcome == "committed" and records.get("old-1").transfer_result is None
        handoff = Handoff(TransferResult.BUSY, cause="BUSY", voicemail=True)
        records.finish("new-1", settle({"transfer": {"reason": "large order", "target": "manager"}}, handoff))
        r = records.get("new-1")
        assert r.outcome == "transfer_failed" and r.transfer_target == "manager"
        assert r.transfer_result == {"result": "busy", "answered_by": None, "cause": "BUSY", "voicemail": True}
    finally:
        records.close()


def test_filters_prefix_lookup_and_retention(tmp_path: Path):
    now = [1_800_000_000.0]
    records = CallRecords(f"sqlite:{tmp_path / 'calls.sqlite3'}", retention_days=30, clock=lambda: now[0])
    day = 86400
    for i, (age_days, outcome) in enumerate([(40, "committed"), (10, "hung_up"), (1, "committed"), (0, "refused")]):
        records.start(f"c{i}-abc", pbx="asterisk", started_at=now[0] - age_days * day)
        records.finish(f"c{i}-abc", {"outcome": outcome, "turns": []}, ended_at=now[0] - age_days * day + 60)
    assert [r.call_id for r in records.list()] == ["c3-abc", "c2-abc", "c1-abc", "c0-abc"]
    assert [r.call_id for r in records.list(outcome="committed")] == ["c2-abc", "c0-abc"]
    assert [r.call_id for r in records.list(since=now[0] - 2 * day)] == ["c3-abc", "c2-abc"]
    assert records.get("c2").call_id == "c2-abc"
    assert records.get("c") is None  # ambiguous prefix
    assert records.get("c_") is None  # LIKE wildcards are literal
    assert records.purge() == 1
    assert [r.call_id for r in records.list()] == ["c3-abc", "c2-abc", "c1-abc"]


def test_audio_is_not_stored_unless_asked(tmp_path: Path):
    off = CallRecords(f"sqlite:{tmp_path / 'a.sqlite3'}", audio_dir=tmp_path / "audio")
    assert off.audio_sink("c1", 8000) is None
    off.finish("c1", {"outcome": "hung_up"}, audio_path=tmp_path / "audio" / "c1.wav")
    assert off.get("c1").audio_path is None
    assert not (tmp_path / "audio").exists()

    on = CallRecords(f"sqlite:{tmp_path / 'b.sqlite3'}", audio_dir=tmp_path / "audio", store_audio=True,
                     retention_days=1, clock=lambda: 1_800_000_000.0)
    sink = on.audio_sink("c/../2", 8000)
    sink.write(b"\x01\x00" * 8000)
    sink.close()
    assert sink.path.parent == tmp_path / "audio"
    with wave.open(str(sink.path)) as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 8000)
    on.start("c2", pbx="asterisk", started_at=1_800_000_000.0 - 2 * 86400)
    on.finish("c2", {"outcome": "hung_up"}, audio_path=sink.path)
    assert on.get("c2").audio_path == str(sink.path)
    assert on.purge() == 1 and not sink.path.exists()


def test_secrets_never_reach_a_record(tmp_path: Path):
    logs.add_secrets(["sq0atp-record-secret-999"])
    records = CallRecords(f"sqlite:{tmp_path / 'calls.sqlite3'}")
    records.finish("c1", {"outcome": "transferred",
                          "transfer": {"reason": "POS error: 401 for token sq0atp-record-secret-999", "target": "x"},
                          "pos": {"adapter": "square", "error": "Authorization: Bearer sq0atp-record-secret-999"},
                          "turns": [{"heard": "hi", "bot": "hello"}]})
    r = records.get("c1")
    assert "sq0atp-record-secret-999" not in json.dumps(r.to_dict())
    assert r.transfer_reason == "POS error: 401 for token ***"


def test_records_on_postgresql(postgres_dsn, pb_dir, committer, pizza_order):
    records = CallRecords(postgres_dsn, retention_days=30)
    try:
        result = run_script(load_playbook(pb_dir / "pizzeria.yaml"), pizza_order, committer)
        records.start("pg-call_1", pbx="asterisk", route="pizzeria", caller=CALLER, language="en")
        records.finish("pg-call_1", result)
        records.start("pg-old", pbx="asterisk", started_at=1.0)
        r = records.get("pg-call")
        assert r.call_id == "pg-call_1" and r.outcome == "committed" and r.caller == "+1555***4567"
        assert r.ticket == json.loads(json.dumps(records.get("pg-call_1").ticket))
        assert r.ticket["total_minor"] == 3398
        assert [x.call_id for x in records.list(outcome="committed")] == ["pg-call_1"]
        assert records.purge() == 1
        assert records.get("pg-old") is None
    finally:
        records.db.execute("DROP TABLE call_records")
        records.close()
