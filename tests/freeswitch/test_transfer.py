"""Transfer to a person: FreeSWITCH's own bridge, driven from the socket; targets only from the Playbook."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from esl_session import esl_session, wait_until
from fake_fs import BridgeBehaviour

from agi import events as ev
from agi.call import CallController
from agi.dialstrings import Pbx
from agi.events import TransferTarget
from agi.handoff import Handoff, TransferResult
from agi.pbx.asterisk import transfer as asterisk_xfer
from agi.pbx.freeswitch import transfer as xfer
from agi.pbx.freeswitch import wire
from agi.playbook import load_playbook

ROOT = Path(__file__).resolve().parents[2]
COUNTER = TransferTarget("front-counter", "user/100", fallback="user/101", voicemail="100@default", timeout_s=20)


@pytest.mark.parametrize("dial, step", [
    ("user/100", ("bridge", "user/100")),
    ("user/100@pbx.example.com", ("bridge", "user/100@pbx.example.com")),
    ("sofia/gateway/carrier/+15551230000", ("bridge", "sofia/gateway/carrier/+15551230000")),
    ("loopback/2000/public", ("bridge", "loopback/2000/public")),
    ("user/100,user/101", ("bridge", "user/100,user/101")),
    ("user/100|sofia/gateway/gw/5551230000", ("bridge", "user/100|sofia/gateway/gw/5551230000")),
    ("callcenter:support@default", ("callcenter", "support@default")),
    ("Queue(front-desk)", ("callcenter", "front-desk")),
])
def test_freeswitch_destinations_are_accepted(dial, step):
    assert xfer.check_dial(dial) == xfer.Step(*step)


@pytest.mark.parametrize("dial, says", [
    ("PJSIP/100", "not a FreeSWITCH endpoint"),
    ("SIP/100", "not a FreeSWITCH endpoint"),
    ("{origination_caller_id_number=1}user/100", "not a plain dial string"),
    ("user/100 XML default", "not a plain dial string"),
    ("user/${system(rm -rf /)}", "not a plain dial string"),
    ("[leg_timeout=1]user/100", "not a plain dial string"),
    ("user/100\nuser/101", "not a plain dial string"),
    ("user/100\n", "not a plain dial string"),
])
def test_anything_else_is_refused_before_it_reaches_freeswitch(dial, says):
    with pytest.raises(xfer.UnsafeTarget, match=says):
        xfer.check_dial(dial)


def test_what_the_caller_said_cannot_expand_on_the_channel():
    p = xfer.plan(COUNTER, "caller asked for a person", "order: 1 ${system(curl evil)} pizza; name {x}\\n")
    for _, value in p.variables:
        assert not set(value) & set("${}\\\n")
    assert p.summary == "order: 1 system(curl evil) pizza; name x n"


def test_the_plan_dials_target_then_fallback_then_voicemail():
    p = xfer.plan(COUNTER, "caller asked for a person", "order: 2 large pepperoni pizza; total 33.98")
    assert p.steps == (xfer.Step("bridge", "user/100"), xfer.Step("bridge", "user/101"))
    assert p.voicemail == xfer.Step("voicemail", "default default 100")
    assert xfer.voicemail_step("200") == xfer.Step("voicemail", "default ${domain_name} 200")
    assert xfer.setup_blocks(p)[:3] == [
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: continue_on_fail=true\nevent-lock: true\n\n",
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: hangup_after_bridge=true\nevent-lock: true\n\n",
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: call_timeout=20\nevent-lock: true\n\n",
    ]
    assert b"execute-app-name: export\nexecute-app-arg: callticket_reason=caller asked for a person\n" \
        in b"".join(xfer.setup_blocks(p))


def test_a_native_bridge_to_the_person_who_answers():
    p = xfer.plan(COUNTER, "caller asked for a person", "order: 2 large pepperoni pizza; total 33.98")
    with esl_session(bridge=BridgeBehaviour(answer={"user/100"})) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        result = xfer.bridge(channel, p)
        assert result == Handoff(TransferResult.ANSWERED, answered_by="user/100")
        assert fs.bridged_to == ["user/100"]
        assert fs.exported["callticket_reason"] == "caller asked for a person"
        assert fs.exported["callticket_summary"] == "order: 2 large pepperoni pizza; total 33.98"
        assert fs.exported["sip_h_X-Callticket-Reason"] == "caller asked for a person"
        assert fs.channel_vars["hangup_after_bridge"] == "true"
        bridge_block = next(c for c in fs.received if c.h("execute-app-name") == "bridge")
        assert bridge_block.raw == wire.execute("bridge", "user/100", event_uuid=bridge_block.h("event-uuid"))
        # the person hung up: hangup_after_bridge ends the caller's leg, and the notice follows
        assert wait_until(channel.gone.is_set)


def test_no_answer_goes_to_the_fallback_then_to_voicemail():
    p = xfer.plan(COUNTER, "caller asked for a person", "")
    with esl_session(bridge=BridgeBehaviour(answer=set())) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        result = xfer.bridge(channel, p)
        assert result == Handoff(TransferResult.NO_ANSWER, cause="NO_ANSWER, then NO_ANSWER", voicemail=True)
        assert fs.bridged_to == ["user/100", "user/101"]
        assert ("voicemail", "default default 100") in fs.apps
        assert "callticket_summary" not in fs.exported  # nothing to say: not set at all
        assert wait_until(channel.gone.is_set)  # we hung up after the voicemail
        assert fs.received[-1].raw == wire.hangup("NORMAL_CLEARING")


def test_the_fallback_answers():
    p = xfer.plan(COUNTER, "large order", "")
    with esl_session(bridge=BridgeBehaviour(answer={"user/101"})) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        result = xfer.bridge(channel, p)
        assert result == Handoff(TransferResult.ANSWERED, answered_by="user/101")
        assert fs.bridged_to == ["user/100", "user/101"]
        assert not any(app == "voicemail" for app, _ in fs.apps)


def test_the_caller_hanging_up_while_it_rings_ends_the_transfer():
    p = xfer.plan(COUNTER, "caller asked for a person", "")
    with esl_session(stuck_apps=("bridge",)) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        import gevent

        gevent.spawn_later(0.5, fs.caller_hangs_up)
        result = xfer.bridge(channel, p)
        assert result.result is TransferResult.NO_ANSWER and result.cause == "NORMAL_CLEARING"


def test_uuid_transfer_sends_the_channel_to_the_transfer_extension():
    p = xfer.plan(COUNTER, "caller asked for a person", "order: 1 cheese pizza")
    with esl_session() as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        result = xfer.uuid_transfer(channel, p, "callticket-transfer")
        assert result == Handoff(TransferResult.NO_ANSWER, cause="NO_ANSWER", voicemail=True)
        assert fs.transferred_to == "front-counter XML callticket-transfer"
        api = next(c for c in fs.received if c.line.startswith("api "))
        assert api.raw == f"api uuid_transfer {fs.uuid} front-counter XML callticket-transfer\n\n".encode()
        assert fs.channel_vars["callticket_dial"] == "user/100|user/101"
        assert fs.channel_vars["callticket_voicemail"] == "default default 100"
        assert fs.exported["callticket_summary"] == "order: 1 cheese pizza"
        # the socket stays connected and sees the rest of the call until the hang-up
        assert wait_until(channel.gone.is_set)


@pytest.mark.parametrize("cause, result", [
    ("USER_BUSY", TransferResult.BUSY),
    ("CALL_REJECTED", TransferResult.DECLINED),
    ("USER_NOT_REGISTERED", TransferResult.FAILED),  # as a stock FreeSWITCH says of user/1000 with no phone
    ("NO_ANSWER", TransferResult.NO_ANSWER),
])
def test_the_last_dials_cause_says_how_the_transfer_failed(cause, result):
    lone = TransferTarget("counter", "user/100", timeout_s=20)
    with esl_session(bridge=BridgeBehaviour(causes={"user/100": cause})) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        assert xfer.bridge(channel, xfer.plan(lone, "caller asked for a person", "")) == Handoff(result, cause=cause)
        assert wait_until(channel.gone.is_set)  # nobody to take the caller: we hung up


def test_the_transfer_is_told_by_how_close_its_dials_came_with_every_cause():
    """The counter's phone rang out, the fallback is not registered: nobody
    answered (no_answer, not failed), and both causes are kept."""
    p = xfer.plan(COUNTER, "caller asked for a person", "")
    with esl_session(bridge=BridgeBehaviour(causes={"user/101": "USER_NOT_REGISTERED"})) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        assert xfer.bridge(channel, p) == Handoff(TransferResult.NO_ANSWER, cause="NO_ANSWER, then USER_NOT_REGISTERED",
                                                  voicemail=True)


def test_uuid_transfer_reads_the_dialplans_bridge_from_the_channels_events():
    p = xfer.plan(COUNTER, "caller asked for a person", "")
    with esl_session(bridge=BridgeBehaviour(answer={"user/101"})) as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        result = xfer.uuid_transfer(channel, p, "callticket-transfer")
        assert result == Handoff(TransferResult.ANSWERED, answered_by="user/100|user/101")
        assert fs.bridged_to == ["user/100|user/101"]


def test_a_bundled_playbooks_person_is_dialled_as_each_pbx_writes_it():
    """The call core hands the drivers the Playbook's strings for each PBX:
    the bundled Playbooks name Asterisk's phones (PJSIP/100) and those of a
    stock FreeSWITCH (user/1000)."""
    ctl = CallController(load_playbook(ROOT / "playbooks" / "pizzeria.yaml"), call_id="t",
                         now=datetime(2026, 11, 20, 18, 0, tzinfo=ZoneInfo("America/New_York")))
    commands: list = []
    pending = [ev.CallStarted("+15551234567", "5550100", "en", "t"), ev.Dtmf("0")]
    while pending:
        out = ctl.handle(pending.pop(0))
        commands += out
        pending[:0] = [ev.PlaybackDone(c.play_id) for c in out if isinstance(c, ev.Play)]
    (transfer,) = [c for c in commands if isinstance(c, ev.Transfer)]
    on_freeswitch = xfer.plan(transfer.target, transfer.reason, "")
    assert on_freeswitch.steps == (xfer.Step("bridge", "user/1000"), xfer.Step("bridge", "user/1001"))
    assert on_freeswitch.voicemail == xfer.Step("voicemail", "default ${domain_name} 1000")
    on_asterisk = asterisk_xfer.plan(transfer.target, transfer.reason, "")
    assert on_asterisk.steps == ("PJSIP/100", "PJSIP/101") and on_asterisk.voicemail == "100@default"


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "playbooks").glob("*.yaml")))
def test_every_bundled_playbook_can_transfer_on_both_pbxs(name):
    escalation = load_playbook(ROOT / "playbooks" / f"{name}.yaml").playbook.escalation
    assert escalation.problems_on(Pbx.FREESWITCH) == [] and escalation.problems_on(Pbx.ASTERISK) == []


def test_a_target_without_a_freeswitch_string_fails_the_transfer_with_the_reason():
    with pytest.raises(xfer.UnsafeTarget, match="'PJSIP/100' is not a FreeSWITCH endpoint"):
        xfer.plan(TransferTarget("front-counter", "PJSIP/100"), "caller asked for a person", "")
    only_asterisk = TransferTarget("front-counter", "", per_pbx=(("asterisk", "PJSIP/100", None, None),))
    with pytest.raises(xfer.UnsafeTarget, match="no dial string for FreeSWITCH"):
        xfer.plan(only_asterisk, "caller asked for a person", "")
