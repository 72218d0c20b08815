"""Transfer plans: only plain dial strings from the Playbook reach Dial(), and the
AGI conversation that bridges the caller (against a scripted Asterisk)."""

from __future__ import annotations

import asyncio

import pytest
from pbx_harness import ROOT

from agi.events import TransferTarget
from agi.pbx.asterisk import transfer as xfer
from agi.pbx.asterisk.fastagi import AgiChannel, FastAgiServer
from agi.playbook import load_playbook


@pytest.mark.parametrize("dial", ["PJSIP/100", "PJSIP/100&PJSIP/101", "SIP/trunk/+15551230000", "Local/100@from-phones",
                                  "Queue(support)", "PJSIP/front-desk"])
def test_plain_dial_strings_pass(dial: str) -> None:
    assert xfer.check_dial(dial) == dial


@pytest.mark.parametrize("dial", [
    "PJSIP/100,30,D(1234)",  # smuggled Dial options
    "PJSIP/${CALLERID(num)}",  # a dialplan function
    "PJSIP/100)",
    "PJSIP/100 & PJSIP/101",
    "100",  # no technology
    "PJSIP/100\nEXEC System rm",
    "",
])
def test_anything_else_is_refused(dial: str) -> None:
    with pytest.raises(xfer.UnsafeTarget):
        xfer.check_dial(dial)


@pytest.mark.parametrize("playbook", sorted((ROOT / "playbooks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_playbook_target_is_a_plain_dial_string(playbook) -> None:
    for t in load_playbook(playbook).playbook.escalation.targets:
        p = xfer.plan(TransferTarget(t.id, t.dial, t.fallback, t.voicemail, t.timeout_s), "test", "")
        assert p.steps[0] == t.dial


def test_summary_is_one_printable_line_of_bounded_length() -> None:
    p = xfer.plan(TransferTarget("x", "PJSIP/100"), "caller\nasked", "2x pizza\r\n" * 100)
    assert "\n" not in p.summary and "\r" not in p.summary and len(p.summary) <= xfer.SUMMARY_MAX
    assert p.reason == "caller asked"


class ScriptedAsterisk:
    """Answers each AGI command from a table and records what it was sent."""

    def __init__(self, replies: dict[str, str]):
        self.replies = replies
        self.sent: list[str] = []

    async def serve(self, port: int, run: asyncio.Future) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"agi_network_script: pizzeria\nagi_request: agi://x/pizzeria\nagi_channel: PJSIP/trunk-1\n\n")
        while True:
            line = (await r.readline()).decode().strip()
            if not line:
                break
            self.sent.append(line)
            reply = next((v for k, v in self.replies.items() if line.startswith(k)), "200 result=1")
            w.write(reply.encode() + b"\n")
            await w.drain()
        w.close()


def _run_transfer(target: TransferTarget, replies: dict[str, str]) -> tuple[xfer.TransferResult, list[str]]:
    async def go():
        result: asyncio.Future = asyncio.get_running_loop().create_future()

        async def route(agi: AgiChannel) -> None:
            p = xfer.plan(target, "large order", "3x pizza")
            result.set_result(await xfer.transfer_with_agi(agi, p, predial="callticket-predial^s^1"))

        srv = FastAgiServer("127.0.0.1", 0)
        srv.add_route("pizzeria", route)
        await srv.start()
        ast = ScriptedAsterisk(replies)
        await asyncio.wait_for(ast.serve(srv.port, result), 5)
        await srv.close()
        return result.result(), ast.sent

    return asyncio.run(go())


def test_unanswered_target_rings_the_fallback_then_voicemail() -> None:
    target = TransferTarget("front-counter", "PJSIP/100", "PJSIP/101", "100@default", 20)
    result, sent = _run_transfer(target, {"GET VARIABLE DIALSTATUS": "200 result=1 (NOANSWER)"})
    assert sent == [
        'SET VARIABLE __CALLTICKET_REASON "large order"',
        'SET VARIABLE __CALLTICKET_SUMMARY "3x pizza"',
        'SET VARIABLE CALLTICKET_TARGET "front-counter"',
        'EXEC Dial "PJSIP/100,20,b(callticket-predial^s^1)"',
        "GET VARIABLE DIALSTATUS",
        'EXEC Dial "PJSIP/101,20,b(callticket-predial^s^1)"',
        "GET VARIABLE DIALSTATUS",
        'EXEC VoiceMail "100@default,u"',
    ]
    assert result == xfer.TransferResult(None, "NOANSWER", voicemail=True, statuses=("NOANSWER", "NOANSWER"))


def test_answered_target_stops_there() -> None:
    target = TransferTarget("manager", "PJSIP/102", "PJSIP/101", "102@default", 20)
    result, sent = _run_transfer(target, {"GET VARIABLE DIALSTATUS": "200 result=1 (ANSWER)"})
    assert [s for s in sent if s.startswith("EXEC")] == ['EXEC Dial "PJSIP/102,20,b(callticket-predial^s^1)"']
    assert result == xfer.TransferResult("PJSIP/102", "ANSWER", statuses=("ANSWER",))
