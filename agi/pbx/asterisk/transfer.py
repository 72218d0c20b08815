"""Transfer to a person as a native Asterisk bridge.

The caller leaves callticket entirely: the AudioSocket leg ends, channel
variables tell the person who answers why (`CALLTICKET_REASON`) and what
was ordered so far (`CALLTICKET_SUMMARY`, one line), then Asterisk's own
`Dial()` bridges the caller to the Playbook's target, with the target's
fallback and then its voicemail when nobody answers. The audio of the
bridged call never passes through this process.

Dial strings only ever come from the Playbook's transfer targets (the
`TransferTarget` in the `Transfer` command), never from what the caller says
or keys in: anything else would let a caller dial out at the business's cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agi.dialstrings import ASTERISK_QUEUE, Pbx, dial_problem, mailbox_problem
from agi.events import TransferTarget
from agi.pbx.asterisk.fastagi import AgiChannel, AgiHangup, quote

log = logging.getLogger("callticket.transfer")

SUMMARY_MAX = 200


class UnsafeTarget(ValueError):
    """A transfer target whose dial string is not a plain destination."""


def check_dial(dial: str) -> str:
    """A Dial() destination or Queue(name); FreeSWITCH strings (user/1000) are refused saying so."""
    problem = dial_problem(Pbx.ASTERISK, dial)
    if problem is not None:
        raise UnsafeTarget(problem)
    return dial


def check_mailbox(mailbox: str) -> str:
    problem = mailbox_problem(mailbox)
    if problem is not None:
        raise UnsafeTarget(problem)
    return mailbox


def one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """Printable, single line, at most `limit` characters (for channel variables and SIP headers)."""
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class TransferPlan:
    """What Asterisk will be told to do, checked before anything is sent."""

    target_id: str
    steps: tuple[str, ...]  # dial strings / Queue(...) in order
    timeout_s: int
    voicemail: str | None
    reason: str
    summary: str


def plan(target: TransferTarget, reason: str, summary: str) -> TransferPlan:
    """What Asterisk dials for `target` (its `asterisk:` strings where the Playbook gives them)."""
    target = target.on(Pbx.ASTERISK.value)
    if not target.dial:
        raise UnsafeTarget(f"target {target.id!r} has no dial string for Asterisk (give it an 'asterisk:' entry)")
    steps = [check_dial(target.dial)]
    if target.fallback:
        steps.append(check_dial(target.fallback))
    return TransferPlan(
        target_id=target.id,
        steps=tuple(steps),
        timeout_s=max(5, min(int(target.timeout_s), 300)),
        voicemail=check_mailbox(target.voicemail) if target.voicemail else None,
        reason=one_line(reason, 80),
        summary=one_line(summary),
    )


@dataclass(frozen=True, slots=True)
class TransferResult:
    answered_by: str | None  # the dial string that answered
    dial_status: str  # ANSWER, NOANSWER, BUSY, CONGESTION, CHANUNAVAIL, ...: the last dial's
    voicemail: bool = False
    statuses: tuple[str, ...] = ()  # every dial's DIALSTATUS / QUEUESTATUS, in order


async def set_channel_vars(agi: AgiChannel, p: TransferPlan) -> None:
    # "__" makes the variable inherited by the channel Dial() creates, so it
    # is readable on the phone's leg too.
    await agi.command(f"SET VARIABLE __CALLTICKET_REASON {quote(p.reason)}")
    await agi.command(f"SET VARIABLE __CALLTICKET_SUMMARY {quote(p.summary)}")
    await agi.command(f"SET VARIABLE CALLTICKET_TARGET {quote(p.target_id)}")


async def transfer_with_agi(agi: AgiChannel, p: TransferPlan, *, predial: str | None = None) -> TransferResult:
    """Dial the target, then the fallback, then voicemail, from the FastAGI session.

    `predial` names a dialplan location (context^exten^priority) run on the
    phone's channel before it rings, e.g. to add X-CallTicket-* SIP headers.
    """
    await set_channel_vars(agi, p)
    status = "NOANSWER"
    statuses: list[str] = []
    for dial in p.steps:
        q = ASTERISK_QUEUE.match(dial)
        if q:
            await agi.command(f"EXEC Queue {quote(q.group(1) + ',,,,' + str(p.timeout_s))}", timeout=None)
            status = await _get_var(agi, "QUEUESTATUS") or "UNKNOWN"
            statuses.append(status)
            if status not in ("TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"):
                return TransferResult(dial, status, statuses=tuple(statuses))
            continue
        options = f"b({predial})" if predial else ""
        log.info("transfer %s: Dial(%s) for %ss", p.target_id, dial, p.timeout_s)
        await agi.command(f"EXEC Dial {quote(f'{dial},{p.timeout_s},{options}')}", timeout=None)
        status = await _get_var(agi, "DIALSTATUS") or "UNKNOWN"
        statuses.append(status)
        if status == "ANSWER":
            return TransferResult(dial, status, statuses=tuple(statuses))
        if status == "CANCEL":  # the caller hung up while it rang
            raise AgiHangup("caller hung up during the transfer")
    if p.voicemail:
        await agi.command(f"EXEC VoiceMail {quote(p.voicemail + ',u')}", timeout=None)
        return TransferResult(None, status, voicemail=True, statuses=tuple(statuses))
    return TransferResult(None, status, statuses=tuple(statuses))


async def _get_var(agi: AgiChannel, name: str) -> str | None:
    r = await agi.command(f"GET VARIABLE {name}")
    return r.data if r.result == "1" else None


def redirect_vars(p: TransferPlan) -> dict[str, str]:
    """Channel variables for the AMI mode's [callticket-transfer] context."""
    out = {
        "__CALLTICKET_REASON": p.reason,
        "__CALLTICKET_SUMMARY": p.summary,
        "CALLTICKET_TARGET": p.target_id,
        "CALLTICKET_DIAL": p.steps[0],
        "CALLTICKET_FALLBACK": p.steps[1] if len(p.steps) > 1 else "",
        "CALLTICKET_TIMEOUT": str(p.timeout_s),
        "CALLTICKET_VOICEMAIL": p.voicemail or "",
    }
    return out
