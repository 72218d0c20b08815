"""The worker inside a real Asterisk: real SIP calls (sipp), real RTP, real bridges.

These runners stand in for the call core so each test looks at one layer:
what the AGI session learns, the audio in both directions, and what Asterisk
does on a transfer. The full spoken order is in test_order_call.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pbx_harness as h
import pytest

from agi import events as ev
from agi.pbx.asterisk.worker import CallOutcome

PERSON = ev.TransferTarget("front-counter", "PJSIP/100", fallback="PJSIP/101", voicemail="100@default", timeout_s=5)
SUMMARY = "2x Large Pepperoni Pizza; pickup 18:30; Maria"


def _caller(asterisk: h.Asterisk, workdir: Path, name: str, audio: np.ndarray, hangup_after_ms: int,
            number: str = "+15551234567") -> h.SippCall:
    pcap = workdir / f"{name}.pcap"
    h.write_pcap(pcap, audio)
    scenario = h.caller_scenario(workdir / f"{name}.xml", pcap, number, hangup_after_ms)
    return h.SippCall(asterisk, scenario, "5551234", workdir / name)


def tone_runner(record: dict[str, Any], play_s: float = 2.0, then: CallOutcome | None = None, listen_s: float = 1.0):
    """Plays 1300 Hz, keeps what the caller sent, then ends the call as `then` says."""

    async def run(info, stream) -> CallOutcome:
        record["info"] = info
        frames: list[bytes] = []

        async def listen() -> None:
            async for e in stream.events():
                if isinstance(e, ev.AudioIn):
                    frames.append(e.pcm)
                else:
                    record.setdefault("events", []).append(e)

        listener = asyncio.create_task(listen())
        record["played"] = await stream.play(h.tone(1300, play_s).tobytes())
        await asyncio.sleep(listen_s)
        listener.cancel()
        record["caller_audio"] = np.frombuffer(b"".join(frames), np.int16)
        return then or CallOutcome(reason="done")

    return run


def test_call_reaches_the_worker_with_its_env_and_audio_flows_both_ways(asterisk, start_worker, workdir):
    record: dict[str, Any] = {}
    start_worker(lambda info: tone_runner(record) if info.route == "pizzeria" else None)
    call = _caller(asterisk, workdir, "hello", h.tone(600, 8), hangup_after_ms=15000)
    tap = h.RtpTap({call.media_port}).start()
    call.start()
    try:
        assert call.wait(40) == 0, call.messages()[-2000:]
    finally:
        tap.stop()
    info = record["info"]
    assert (info.route, info.caller_number, info.called_number, info.language) == (
        "pizzeria", "+15551234567", "5551234", "en")
    assert info.channel.startswith("PJSIP/trunk-")
    assert record["played"] is True
    # the caller's 600 Hz reached the worker as 8 kHz slin
    assert len(record["caller_audio"]) > 8000 * 2
    assert h.tone_share(record["caller_audio"], 600) > 0.9
    # the worker's 1300 Hz reached the caller as RTP, and the worker (not the caller) ended the call
    heard = tap.to_caller[call.media_port].audio()
    assert len(heard) >= 8000 * 1.8 and h.tone_share(heard, 1300) > 0.8
    assert h.received_bye(call), "the call should end from Asterisk's side, not by the caller's timeout"


def test_transfer_bridges_the_caller_to_a_phone_inside_asterisk(asterisk, start_worker, workdir):
    record: dict[str, Any] = {}
    outcome = CallOutcome(transfer=ev.Transfer(PERSON, "caller asked for a person", SUMMARY))
    start_worker(lambda info: tone_runner(record, play_s=1.0, then=outcome, listen_s=0.2),
                 predial="callticket-predial^s^1")
    phone = h.SippPhone(asterisk.ports.phones["100"], workdir / "phone100").start()
    call = _caller(asterisk, workdir, "xfer", h.tone(600, 20), hangup_after_ms=9000)
    tap = h.RtpTap({call.media_port}).start()
    call.start()
    try:
        bridged = _wait_for_bridge(asterisk, 12)
        assert bridged, "no two-party bridge appeared"
        chans = {c.split("-")[0]: c for c in asterisk.channels()}
        phone_vars = asterisk.channel_vars(chans["PJSIP/100"])
        caller_vars = asterisk.channel_vars(chans["PJSIP/trunk"])
        bridges = asterisk.cli("bridge show all")
        assert call.wait(40) == 0, call.messages()[-2000:]
    finally:
        tap.stop()
        phone.stop()
    assert "native_rtp" in bridges
    assert phone_vars["CALLTICKET_REASON"] == "caller asked for a person"
    assert phone_vars["CALLTICKET_SUMMARY"] == SUMMARY
    assert caller_vars["CALLTICKET_TARGET"] == "front-counter"
    invite = phone.invites()[0]
    assert "X-CallTicket-Reason: caller asked for a person" in invite
    assert f"X-CallTicket-Summary: {SUMMARY}" in invite
    # after the bot's 1300 Hz, the caller hears the phone's echo of its own 600 Hz
    heard = tap.to_caller[call.media_port]
    late = heard.audio()[8000 * 3 :]
    assert h.tone_share(late, 600) > 0.5, "the phone's audio did not reach the caller"


def _wait_for_bridge(asterisk: h.Asterisk, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if "native_rtp" in asterisk.cli("bridge show all") and len(asterisk.channels()) >= 2:
            return True
        time.sleep(0.3)
    return False


def _why_no_bridge(asterisk: h.Asterisk, call: h.SippCall, caplog: pytest.LogCaptureFixture) -> str:
    """What each side saw, so a failure in a long run says where the call stopped."""
    worker = [f"{r.created:.2f} {r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records
              if r.name.startswith("callticket") and "ami" not in getattr(r, "fields", {})]
    return ("no two-party bridge appeared\n"
            f"channels: {asterisk.channels()}\n"
            f"bridges: {asterisk.cli('bridge show all')}\n"
            "worker log:\n" + "\n".join(worker[-20:]) +
            "\ncaller's SIP messages (tail):\n" + call.messages()[-1500:])


def test_unanswered_target_falls_back_to_the_next_phone(asterisk, start_worker, workdir):
    record: dict[str, Any] = {}
    outcome = CallOutcome(transfer=ev.Transfer(PERSON, "large order", SUMMARY))
    start_worker(lambda info: tone_runner(record, play_s=0.5, then=outcome, listen_s=0.1))
    phone101 = h.SippPhone(asterisk.ports.phones["101"], workdir / "phone101").start()  # 100 never answers
    call = _caller(asterisk, workdir, "fallback", h.tone(600, 25), hangup_after_ms=14000)
    call.start()
    try:
        assert _wait_for_bridge(asterisk, 14), "the fallback phone was not bridged"
        chans = [c for c in asterisk.channels() if c.startswith("PJSIP/101")]
        assert chans and asterisk.channel_vars(chans[0])["CALLTICKET_REASON"] == "large order"
        assert call.wait(40) == 0
    finally:
        phone101.stop()
    assert len(phone101.invites()) == 1


def test_a_transfer_nobody_answers_is_recorded_as_failed_not_transferred(asterisk, start_worker, workdir):
    """No phone answers PJSIP/102 and there is no fallback or voicemail: the
    call record and the metrics say the transfer failed, and why."""
    from agi.metrics import Metrics
    from agi.ops_http import Lifecycle
    from agi.records import CallRecords

    records = CallRecords(f"sqlite:{workdir / 'calls.sqlite3'}")
    life = Lifecycle(records=records, metrics=Metrics())
    lonely = ev.TransferTarget("front-counter", "PJSIP/102", timeout_s=5)
    outcome = CallOutcome(transfer=ev.Transfer(lonely, "caller asked for a person", SUMMARY))
    start_worker(lambda info: tone_runner({}, play_s=0.5, then=outcome, listen_s=0.1), lifecycle=life)
    call = _caller(asterisk, workdir, "nobody", h.tone(600, 25), hangup_after_ms=20000)
    call.start()
    try:
        assert call.wait(60) == 0, call.messages()[-2000:]
        end = time.monotonic() + 10
        while time.monotonic() < end and not records.list(outcome="transfer_failed"):
            time.sleep(0.2)
        (record,) = records.list()
    finally:
        records.close()
    assert record.outcome == "transfer_failed" and record.transfer_target == "front-counter"
    bridge = record.transfer_result or {}
    assert bridge.get("result") in ("no_answer", "failed") and bridge.get("cause"), bridge
    assert bridge.get("answered_by") is None
    rendered = life.metrics.render().decode()
    assert 'callticket_calls_total{outcome="transfer_failed",pbx="asterisk"} 1.0' in rendered
    assert 'callticket_calls_total{outcome="transferred",pbx="asterisk"} 0.0' in rendered


@pytest.mark.parametrize("mode", ["ami-redirect", "ami-blind"])
def test_ami_transfer_modes_bridge_the_caller_and_log_call_events(mode, asterisk, start_worker, workdir, monkeypatch,
                                                                   caplog):
    monkeypatch.setenv("CALLTICKET_AMI_SECRET", asterisk.ami_secret)
    caplog.set_level(logging.INFO, logger="callticket")
    record: dict[str, Any] = {}
    outcome = CallOutcome(transfer=ev.Transfer(PERSON, "caller asked for a person", SUMMARY))
    start_worker(lambda info: tone_runner(record, play_s=1.0, then=outcome, listen_s=0.2),
                 transfer_mode=mode, ami_user=asterisk.ami_user)
    phone = h.SippPhone(asterisk.ports.phones["100"], workdir / "phone100").start()
    call = _caller(asterisk, workdir, "ami", h.tone(600, 20), hangup_after_ms=9000)
    call.start()
    try:
        assert _wait_for_bridge(asterisk, 12), _why_no_bridge(asterisk, call, caplog)
        chans = [c for c in asterisk.channels() if c.startswith("PJSIP/100")]
        assert asterisk.channel_vars(chans[0])["CALLTICKET_SUMMARY"] == SUMMARY
        assert call.wait(40) == 0
    finally:
        phone.stop()
    ended = [r.fields for r in caplog.records if r.getMessage() == "transfer ended"]
    assert ended and ended[-1]["result"] == "answered" and ended[-1]["answered_by"] == "PJSIP/100", ended
    events = [r.fields["ami"] for r in caplog.records if isinstance(getattr(r, "fields", {}).get("ami"), dict)]
    names = {e["event"] for e in events}
    assert {"Newchannel", "DialBegin", "BridgeEnter", "Hangup"} <= names
    numbers = [e.get("calleridnum") for e in events if e.get("calleridnum")]
    assert numbers and all("+15551234567" not in n for n in numbers)  # masked in the logs
    if mode == "ami-blind":  # the caller is in no bridge while it talks to the bot: a redirect does it
        assert any(r.getMessage() == "blind transfer refused; redirecting" for r in caplog.records)


def test_over_the_call_limit_the_caller_hears_busy_and_returns_to_the_dialplan(asterisk, start_worker, workdir):
    record: dict[str, Any] = {}
    start_worker(lambda info: tone_runner(record, play_s=6.0), max_calls=1)
    first = _caller(asterisk, workdir, "first", h.tone(600, 12), hangup_after_ms=20000)
    second = _caller(asterisk, workdir, "second", h.tone(600, 12), hangup_after_ms=20000, number="+15557654321")
    tap = h.RtpTap({second.media_port}).start()
    first.start()
    time.sleep(1.5)
    t0 = time.monotonic()
    second.start()
    try:
        assert second.wait(30) == 0
        busy_s = time.monotonic() - t0
        assert first.wait(30) == 0
    finally:
        tap.stop()
    heard = tap.to_caller[second.media_port].audio()
    assert h.rms(heard) > 300  # the "all circuits are busy" prompt
    assert h.tone_share(heard, 1300) < 0.1  # and not the bot
    assert busy_s < 8
