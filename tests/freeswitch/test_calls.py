"""Whole calls through `callticket serve-esl`: FreeSWITCH's side replayed from captures,
the caller's voice (espeak-ng / flite, through an A-law line) over unicast UDP.

The worker is its own process, exactly as deployed; the recogniser, the
dialogue and the local POS are the real ones.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from agi.records import CallRecords
from fake_fs import BridgeBehaviour, CallerScript, FakeFreeSwitch
from fs_harness import PIZZA_ORDER, caller_audio, local_pos_orders
from ruamel.yaml import YAML

from agi.pbx.freeswitch import wire

ROUTE = {"callticket_playbook": "pizzeria"}
PERSON = ["Two large pepperoni pizzas please.", "let me talk to a person"]
DIALOGUE_CALLS = Path(__file__).resolve().parents[1] / "dialogue" / "calls" / "pizzeria"


def result_for(worker, fs: FakeFreeSwitch) -> dict:
    found = worker.wait_for("call ended", 1, timeout=20)
    assert any(r.get("call_id") == fs.uuid for r in found)
    (result,) = [r for r in worker.records("call result") if r.get("call_id") == fs.uuid]
    return result


def assert_session_opened_as_captured(fs: FakeFreeSwitch) -> None:
    """connect, myevents, linger, answer, unicast: the blocks FreeSWITCH accepted in the captures."""
    first = [c.raw for c in fs.received[:3]]
    assert first == [b"connect\n\n", b"myevents\n\n", b"linger\n\n"]
    answer = fs.received[3]
    assert answer.raw == wire.execute("answer", event_uuid=answer.h("event-uuid"))
    unicast = fs.received[4]
    assert unicast.raw == wire.unicast("127.0.0.1", int(unicast.h("local-port")), "127.0.0.1",
                                       int(unicast.h("remote-port")))


def assert_closed_after_notice(fs: FakeFreeSwitch) -> None:
    # linger: FreeSWITCH never closes the socket; the worker does, after the notice
    assert fs.closed_by_app.is_set()
    assert fs.closed_after_notice_s is not None and fs.closed_after_notice_s < 5


def test_a_spoken_order_is_committed(serve_esl, fs_playbooks):
    fs = FakeFreeSwitch(serve_esl.address, caller="+15551234567", variables=ROUTE,
                        script=CallerScript(turns=caller_audio(PIZZA_ORDER)))
    fs.run(timeout=240)
    assert fs.errors == []
    result = result_for(serve_esl, fs)
    assert result["outcome"] == "committed", "\n".join(
        f"heard {h!r} dropped {d!r} -> {b!r}" for h, d, b in zip(result["heard"], result["dropped"], result["bot"][1:]))
    assert_session_opened_as_captured(fs)
    order_id = result["pos"]["order_id"]
    (order,) = [o for o in local_pos_orders(serve_esl.data_dir, fs_playbooks / "pizzeria.yaml")
                if o["order_id"] == order_id]
    assert {k: order[k] for k in ("kind", "items", "fulfillment", "customer", "total_minor", "currency")} == {
        "kind": "order",
        "items": [{"catalog_id": "pizza-pepperoni", "name": "pepperoni pizza", "quantity": 2,
                   "unit_price_minor": 1699, "variation": {"catalog_id": "pep-large", "name": "large"},
                   "modifiers": []}],
        "fulfillment": {"type": "pickup", "time": None, "address": None},
        "customer": {"name": "Maria", "phone": "+15551234567"},
        "total_minor": 3398, "currency": "USD"}
    # the bot's voice came back over unicast: many seconds of it, and it hung up after its goodbye
    assert fs.bot_audio_s() > 15
    assert fs.sent_blocks("hangup") == [wire.hangup("NORMAL_CLEARING")]
    assert_closed_after_notice(fs)
    assert len(result["reply_latency_ms"]) >= len(PIZZA_ORDER) - 1
    # the call record: committed, the receipt, the caller's number masked
    records = CallRecords(f"sqlite:{serve_esl.data_dir / 'calls.sqlite3'}")
    try:
        (record,) = [r for r in records.list(outcome="committed") if (r.pos or {}).get("order_id") == order_id]
    finally:
        records.close()
    assert record.pbx == "freeswitch" and record.caller != "+15551234567" and record.caller.endswith("67")
    assert any(t.get("heard") for t in record.turns)
    # each turn pairs what was heard with the bot's answer to it; the first is the greeting
    assert record.turns[0]["heard"] == "" and "Tony" in record.turns[0]["said"]
    answered = [t for t in record.turns[1:] if t["heard"]]
    assert answered and all(isinstance(t["said"], str) and t["said"] for t in answered), [t for t in answered if not t["said"]]


def test_asking_for_a_person_ends_in_a_native_bridge(serve_esl):
    fs = FakeFreeSwitch(serve_esl.address, caller="+15552223333", variables=ROUTE,
                        script=CallerScript(turns=caller_audio(PERSON, offset=2)),
                        bridge=BridgeBehaviour(answer={"user/100"}))
    fs.run(timeout=120)
    assert fs.errors == []
    result = result_for(serve_esl, fs)
    assert result["outcome"] == "transferred", result
    assert result["transfer"] == {"reason": "caller asked for a person", "target": "front-counter",
                                  "result": "answered", "answered_by": "user/100", "cause": None,
                                  "voicemail": False}
    assert_session_opened_as_captured(fs)
    assert fs.bridged_to == ["user/100"]  # the Playbook's target, nothing the caller said
    bridge = next(c for c in fs.received if c.h("execute-app-name") == "bridge")
    assert bridge.raw == wire.execute("bridge", "user/100", event_uuid=bridge.h("event-uuid"))
    assert fs.exported["callticket_reason"] == "caller asked for a person"
    assert "pepperoni" in fs.exported["callticket_summary"]
    assert fs.channel_vars["hangup_after_bridge"] == "true"
    assert fs.sent_blocks("hangup") == []  # the person's hang-up ended the call, not us
    assert_closed_after_notice(fs)


@pytest.mark.parametrize("name", ["prank_absurd_quantity", "escalation_large_order"])
def test_scripted_calls_of_the_dialogue_suite_end_as_expected(name, serve_esl, fs_playbooks):
    """The same caller scripts as `simulate`, spoken over unicast: the same outcome, ticket and transfer."""
    spec = YAML(typ="safe").load((DIALOGUE_CALLS / f"{name}.yaml").read_text())
    script = spec["script"]
    orders_before = len(local_pos_orders(serve_esl.data_dir, fs_playbooks / "pizzeria.yaml"))
    fs = FakeFreeSwitch(serve_esl.address, caller=script["caller"]["number"], variables=ROUTE,
                        script=CallerScript(turns=caller_audio(script["say"], offset=2)),
                        bridge=BridgeBehaviour(answer={"user/100"}))
    fs.run(timeout=120)
    assert fs.errors == []
    result = result_for(serve_esl, fs)
    transfer = {k: result["transfer"][k] for k in ("reason", "target")} if result["transfer"] else None
    assert {"outcome": result["outcome"], "ticket": None, "transfer": transfer} == spec["expect"], result
    assert len(local_pos_orders(serve_esl.data_dir, fs_playbooks / "pizzeria.yaml")) == orders_before
    if result["outcome"] == "refused":
        assert fs.sent_blocks("hangup") == [wire.hangup("NORMAL_CLEARING")]
        assert not fs.bridged_to
    else:
        assert fs.bridged_to == ["user/100"]
        assert fs.exported["callticket_reason"] == spec["expect"]["transfer"]["reason"]
    assert_closed_after_notice(fs)


def test_pressing_0_cuts_the_greeting_and_reaches_a_person(serve_esl):
    """DTMF arrives as events; barge-in stops the bot's unicast audio at once."""
    fs = FakeFreeSwitch(serve_esl.address, caller="+15554445555", variables=ROUTE,
                        bridge=BridgeBehaviour(answer={"user/100"}))

    def press_during_greeting() -> None:
        while not fs.bot_loud_since(0) and fs.elapsed() < 20:
            time.sleep(0.02)
        time.sleep(0.8)
        fs.dtmf("0")

    threading.Thread(target=press_during_greeting, daemon=True).start()
    fs.run(timeout=60)
    result = result_for(serve_esl, fs)
    assert result["outcome"] == "transferred", result
    assert result["transfer"]["reason"] == "caller pressed 0"
    assert result["cut_plays"] >= 1  # the greeting was cut
    assert fs.bridged_to == ["user/100"]


@pytest.mark.parametrize("transfer_mode", ["uuid_transfer"])
def test_the_uuid_transfer_mode_hands_the_call_to_the_dialplan(transfer_mode, fs_playbooks, tmp_path):
    from fs_harness import ServeEsl

    worker = ServeEsl(tmp_path / "w", fs_playbooks, "--transfer-mode", transfer_mode).start()
    try:
        fs = FakeFreeSwitch(worker.address, caller="+15556667777", variables=ROUTE,
                            bridge=BridgeBehaviour(answer={"user/101"}))

        def press() -> None:
            while not fs.answered and fs.elapsed() < 20:
                time.sleep(0.02)
            time.sleep(0.5)
            fs.dtmf("0")

        threading.Thread(target=press, daemon=True).start()
        fs.run(timeout=60)
        result = result_for(worker, fs)
        assert result["outcome"] == "transferred"
        assert result["transfer"]["result"] == "answered"  # the dialplan's bridge, seen from the socket
        assert fs.transferred_to == "front-counter XML callticket-transfer"
        assert fs.channel_vars["callticket_dial"] == "user/100|user/101"
        assert fs.exported["callticket_reason"] == "caller pressed 0"
        assert_closed_after_notice(fs)
    finally:
        worker.stop()


def answered_log(worker, fs: FakeFreeSwitch) -> dict:
    return next(r for r in worker.wait_for("call answered", 1) if r.get("call_id") == fs.uuid)


def test_a_wideband_call_from_a_stock_freeswitch_is_heard_at_its_rate(serve_esl):
    """FreeSWITCH as shipped negotiates the codec when the call is answered:
    the connect reply names none (captures/sip_late1). A G.722 call streams
    16 kHz unicast both ways; taken for 8 kHz, the caller is heard as noise
    and the bot speaks at double speed."""
    from agi.media.resample import resample

    turns = [resample(pcm, 8000, 16000) for pcm in caller_audio(PERSON, offset=2)]
    fs = FakeFreeSwitch(serve_esl.address, caller="+15553334444", variables=ROUTE, late_negotiation=True,
                        rate=16000, script=CallerScript(turns=turns), bridge=BridgeBehaviour(answer={"user/100"}))
    fs.run(timeout=120)
    assert fs.errors == []
    result = result_for(serve_esl, fs)
    assert {"large", "pepperoni"} <= set(result["heard"][0].lower().replace(",", " ").split()), result["heard"]
    assert result["outcome"] == "transferred", result
    assert (answered_log(serve_esl, fs)["codec"], answered_log(serve_esl, fs)["rate"]) == ("G722", 16000)
    assert {len(data) for _, data in fs.bot_packets} == {640}  # 20 ms at 16 kHz


def test_a_freeswitch_whose_events_name_no_codec_is_asked_for_it(serve_esl):
    fs = FakeFreeSwitch(serve_esl.address, variables={"callticket_playbook": "callticket-echo"},
                        late_negotiation=True, codec_in_events=False, rate=48000, caller_hangup_at_s=3.0)
    fs.run(timeout=30)
    assert (answered_log(serve_esl, fs)["codec"], answered_log(serve_esl, fs)["rate"]) == ("opus", 48000)
    asked = [c.line for c in fs.received if c.line.startswith("api uuid_getvar")]
    assert asked == [f"api uuid_getvar {fs.uuid} read_codec", f"api uuid_getvar {fs.uuid} read_rate"]
    assert {len(data) for _, data in fs.bot_packets} == {1920}  # the echo, 20 ms at 48 kHz


def test_a_call_no_playbook_answers_goes_back_to_the_dialplan(serve_esl):
    fs = FakeFreeSwitch(serve_esl.address, variables={"callticket_playbook": "no-such-shop"}, destination="9999")
    fs.run(timeout=20)
    assert fs.channel_vars.get("callticket_status") == "NOROUTE", (fs.errors, [c.line for c in fs.received])
    assert fs.resumed  # the actions after `socket` run
    assert not fs.answered
    assert [c.line for c in fs.received][-2:] == ["resume", "exit"]


def test_the_echo_check_plays_the_callers_voice_back(serve_esl):
    import math
    import struct

    tone = struct.pack("<8000h", *(int(5000 * math.sin(2 * math.pi * 1000 * i / 8000)) for i in range(8000)))
    fs = FakeFreeSwitch(serve_esl.address, variables={"callticket_playbook": "callticket-echo"},
                        caller_hangup_at_s=4.0)

    def speak() -> None:
        while not fs.unicast_arms and fs.elapsed() < 10:
            time.sleep(0.02)
        time.sleep(0.3)
        fs.say(tone)

    threading.Thread(target=speak, daemon=True).start()
    fs.run(timeout=30)
    assert fs.answered
    assert 0.8 <= fs.bot_audio_s(threshold=2000) <= 1.2  # the second of tone, back over unicast
    assert_closed_after_notice(fs)
