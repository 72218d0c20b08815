"""Whole calls through a real Asterisk: a caller (sipp) speaks, the worker
(`callticket serve-agi`) listens, answers, and commits the order or hands
the caller to a person."""

from __future__ import annotations

import time

import pbx_harness as h
from pbx_harness import CALLER, ORDER, PERSON, PIZZERIA


def place_call(asterisk, workdir, say):
    call, said = h.place_call(asterisk, workdir, PIZZERIA, say, number=CALLER)
    tap = h.RtpTap({call.media_port}).start()
    call.start()
    return call, tap, said


def call_results(worker: h.ServeAgi) -> list[dict]:
    return [r for r in worker.log_lines() if r.get("msg") == "call result"]


def test_spoken_order_lands_in_the_local_pos(asterisk, serve_agi, workdir):
    before = len(call_results(serve_agi))
    call, tap, said = place_call(asterisk, workdir, ORDER)
    try:
        rc = call.wait(200)
    finally:
        tap.stop()
    results = call_results(serve_agi)[before:]
    assert results, serve_agi.log_path.read_text()[-3000:]
    result = results[-1]
    assert rc == 0, call.messages()[-2000:]
    assert result["outcome"] == "committed", result
    assert h.received_bye(call)  # the bot hung up after its goodbye
    order = h.local_pos_orders(serve_agi.data_dir, PIZZERIA)[0]
    assert order["order_id"] == result["pos"]["order_id"]
    assert h.order_problems(order, CALLER) == []
    # the bot's voice reached the caller: non-silent RTP, seconds of it
    heard = tap.to_caller[call.media_port]
    loud = [p for _, p in heard.packets if h.rms(h.ulaw_decode(p)) > 300]
    assert len(loud) * 0.02 > 10, f"only {len(loud) * 0.02:.1f} s of audible reply"
    latencies = h.reply_latencies(heard, tap.from_caller[call.media_port], said)
    assert len(latencies) >= len(ORDER) - 1


def test_asking_for_a_person_ends_in_a_native_bridge_to_the_counter_phone(asterisk, serve_agi, workdir):
    phone = h.SippPhone(asterisk.ports.phones["100"], workdir / "phone100").start()
    call, tap, said = place_call(asterisk, workdir, PERSON)
    try:
        end = time.monotonic() + 60
        bridged = False
        while time.monotonic() < end and not bridged:
            bridged = "native_rtp" in asterisk.cli("bridge show all")
            time.sleep(0.3)
        assert bridged, "no native bridge to the counter phone"
        phone_chan = next(c for c in asterisk.channels() if c.startswith("PJSIP/100-"))
        phone_vars = asterisk.channel_vars(phone_chan)
        assert call.wait(120) == 0
    finally:
        tap.stop()
        phone.stop()
    assert phone_vars["CALLTICKET_REASON"] == "caller asked for a person"
    assert "pepperoni" in phone_vars["CALLTICKET_SUMMARY"].lower()
    assert "X-CallTicket-Reason: caller asked for a person" in phone.invites()[0]
    results = [r for r in call_results(serve_agi) if r.get("outcome") == "transferred"]
    assert results
