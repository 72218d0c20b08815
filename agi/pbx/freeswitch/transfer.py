"""Transfer to a person as a native FreeSWITCH bridge.

The caller's channel runs FreeSWITCH's own `bridge` to the Playbook's
target (then its fallback, then its voicemail when nobody answers); the
person who answers gets channel variables saying why (`callticket_reason`)
and what was ordered so far (`callticket_summary`), exported to their leg
and sent as SIP headers (`X-Callticket-Reason`, `X-Callticket-Summary`).
The bridged audio never passes through this process.

Or, with the `uuid_transfer` mode, the same variables are set and the
channel is sent to a dialplan extension (`<target id>` in the
`callticket-transfer` context of freeswitch-conf/) that does the bridging.

Either way the result is read from the channel's own events and reported as
an `agi.handoff.Handoff`: answered (and by which dial string), or how close
the dials came, with each one's hang-up cause (USER_BUSY, NO_ANSWER,
USER_NOT_REGISTERED, ...), and whether the voicemail took the caller.

Dial strings only ever come from the Playbook's transfer targets, never from
what the caller says or keys in (toll fraud), and are checked before use:
plain FreeSWITCH endpoints only, so no `{var=...}`, `${api ...}` or `[...]`
can ride along. Values we set are stripped of `$`, braces and backslashes
because FreeSWITCH expands `${...}` in application arguments.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import gevent

from agi.dialstrings import FREESWITCH_QUEUE, Pbx, dial_problem
from agi.events import TransferTarget
from agi.handoff import Handoff, TransferResult, freeswitch_result, nobody_took
from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.channel import FsChannel
from agi.pbx.freeswitch.esl import EslCommandFailed, EslGone

log = logging.getLogger("callticket.transfer")

_MAILBOX = re.compile(r"^([A-Za-z0-9_.-]+)(?:@([A-Za-z0-9_.-]+))?$")
_EXTENSION = re.compile(r"^[A-Za-z0-9_+*#.-]{1,64}$")
SUMMARY_MAX = 200


class UnsafeTarget(ValueError):
    """A transfer target that is not a plain FreeSWITCH destination."""


@dataclass(frozen=True, slots=True)
class Step:
    """One dialplan application run on the caller's channel."""

    app: str
    arg: str


@dataclass(frozen=True, slots=True)
class TransferPlan:
    target_id: str
    steps: tuple[Step, ...]  # bridge / callcenter, in order
    voicemail: Step | None
    timeout_s: int
    variables: tuple[tuple[str, str], ...]
    reason: str
    summary: str


def check_dial(dial: str) -> Step:
    """Asterisk strings (PJSIP/100) are refused with a message saying so, not at dial time."""
    problem = dial_problem(Pbx.FREESWITCH, dial)
    if problem is not None:
        raise UnsafeTarget(problem)
    queue = FREESWITCH_QUEUE.fullmatch(dial)
    if queue:
        return Step("callcenter", queue.group(1) or queue.group(2))
    return Step("bridge", dial)


def voicemail_step(mailbox: str) -> Step:
    m = _MAILBOX.fullmatch(mailbox)
    if not m:
        raise UnsafeTarget(f"not a mailbox: {mailbox!r}")
    box, domain = m.group(1), m.group(2)
    # 'default' is mod_voicemail's profile; the domain defaults to the channel's.
    return Step("voicemail", f"default {domain or '${domain_name}'} {box}")


def safe_value(text: str, limit: int) -> str:
    """Printable, one line, nothing FreeSWITCH would expand, at most `limit` characters."""
    clean = "".join(ch if ch.isprintable() and ch not in "${}\\" else " " for ch in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def plan(target: TransferTarget, reason: str, summary: str) -> TransferPlan:
    """What FreeSWITCH dials for `target` (its `freeswitch:` strings where the Playbook gives them)."""
    target = target.on(Pbx.FREESWITCH.value)
    if not target.dial:
        raise UnsafeTarget(f"target {target.id!r} has no dial string for FreeSWITCH (give it a 'freeswitch:' entry)")
    steps = [check_dial(target.dial)]
    if target.fallback:
        steps.append(check_dial(target.fallback))
    reason_v = safe_value(reason, 80)
    summary_v = safe_value(summary, SUMMARY_MAX)
    variables = (
        ("callticket_reason", reason_v),
        ("callticket_summary", summary_v),
        ("callticket_target", target.id),
        ("sip_h_X-Callticket-Reason", reason_v),
        ("sip_h_X-Callticket-Summary", summary_v),
    )
    return TransferPlan(
        target_id=target.id,
        steps=tuple(steps),
        voicemail=voicemail_step(target.voicemail) if target.voicemail else None,
        timeout_s=max(5, min(int(target.timeout_s), 300)),
        variables=variables,
        reason=reason_v,
        summary=summary_v,
    )


def setup_blocks(p: TransferPlan) -> list[bytes]:
    """The `sendmsg` blocks sent before the first dial (none waits for completion).

    `continue_on_fail` keeps the caller when a dial fails (so the fallback and
    the voicemail can follow); `hangup_after_bridge` ends the call when the
    person hangs up; `call_timeout` is how long each dial rings.
    """
    blocks = [
        wire.execute("set", "continue_on_fail=true"),
        wire.execute("set", "hangup_after_bridge=true"),
        wire.execute("set", f"call_timeout={p.timeout_s}"),
    ]
    blocks += [wire.execute("export", f"{name}={value}") for name, value in p.variables if value]
    return blocks


def answered(complete: wire.EslMessage) -> bool:
    """Did the bridge (or queue) reach a person? From its CHANNEL_EXECUTE_COMPLETE."""
    status = complete.get("variable_DIALSTATUS") or complete.get("variable_originate_disposition") or ""
    if complete.get("Application") == "callcenter":
        return (complete.get("variable_cc_cause") or "") == "answered" or status == "SUCCESS"
    return status.upper() in ("SUCCESS", "ANSWER")


def dial_cause(complete: wire.EslMessage) -> str | None:
    """Why a dial ended: its hang-up cause (`originate_disposition`), else DIALSTATUS."""
    return complete.get("variable_originate_disposition") or complete.get("variable_DIALSTATUS")


def _caller_left(channel: FsChannel, dials: list[tuple[TransferResult, str | None]]) -> Handoff:
    """The caller hung up while a target rang (or before it could)."""
    return nobody_took(dials + [(TransferResult.NO_ANSWER, channel.hangup_cause or "caller hung up")])


def bridge(channel: FsChannel, p: TransferPlan) -> Handoff:
    """Dial the target, then its fallback, then its voicemail, until a person answers.

    Returns once it is known: at the CHANNEL_BRIDGE of a person answering
    (the conversation goes on in FreeSWITCH; `hangup_after_bridge` ends the
    caller's leg with it), or after the last dial ended.
    """
    dials: list[tuple[TransferResult, str | None]] = []
    try:
        for block in setup_blocks(p):
            channel.conn.command(block)
        for step in p.steps:
            complete = channel.execute(step.app, step.arg, until=channel.bridged)
            if channel.bridged.is_set() or (complete is not None and answered(complete)):
                return Handoff(TransferResult.ANSWERED, answered_by=step.arg)
            if complete is None:
                return _caller_left(channel, dials)
            cause = dial_cause(complete)
            dials.append((freeswitch_result(cause), cause))
            log.info("transfer step not answered", extra={"fields": {
                "target": p.target_id, "app": step.app, "cause": cause}})
            if channel.hungup.is_set():
                return _caller_left(channel, dials)
        voicemail = False
        if p.voicemail is not None:
            voicemail = channel.execute(p.voicemail.app, p.voicemail.arg) is not None
        channel.hangup("NORMAL_CLEARING")
    except (EslGone, EslCommandFailed) as exc:
        return nobody_took(dials + [(TransferResult.FAILED, str(exc))])
    return nobody_took(dials, voicemail)


def uuid_transfer(channel: FsChannel, p: TransferPlan, context: str, max_wait_s: float = 900.0) -> Handoff:
    """Set the variables, then `uuid_transfer` the channel to `<target id>` in `context`.

    The extension there dials (freeswitch-conf/dialplan/callticket-transfer.xml);
    the socket stays connected and sees its applications end, so the result
    is read from them: a CHANNEL_BRIDGE (answered), or the last dial's cause
    once the channel hangs up.
    """
    if not _EXTENSION.fullmatch(p.target_id) or not _EXTENSION.fullmatch(context):
        raise UnsafeTarget(f"bad extension {p.target_id!r} or context {context!r}")
    seen: list[wire.EslMessage] = []
    channel.on_app_complete.append(seen.append)
    try:
        for block in setup_blocks(p):
            channel.conn.command(block)
        dial_vars = [("callticket_dial", "|".join(s.arg for s in p.steps if s.app == "bridge"))]
        queues = [s.arg for s in p.steps if s.app == "callcenter"]
        if queues:
            dial_vars.append(("callticket_queue", queues[0]))
        if p.voicemail is not None:
            dial_vars.append(("callticket_voicemail", p.voicemail.arg))
        for name, value in dial_vars:
            if value:
                channel.conn.command(wire.execute("set", f"{name}={value}"))
        reply = channel.api("uuid_transfer", channel.info.uuid, p.target_id, "XML", context).strip()
        if not reply.startswith("+OK"):
            return Handoff(TransferResult.FAILED, cause=reply[:120] or "uuid_transfer refused")
        gevent.wait([channel.bridged, channel.hungup, channel.gone], timeout=max_wait_s, count=1)
    except (EslGone, EslCommandFailed) as exc:
        return Handoff(TransferResult.FAILED, cause=str(exc))
    finally:
        channel.on_app_complete.remove(seen.append)
    dials = [m for m in seen if m.get("Application") in ("bridge", "callcenter")]
    if channel.bridged.is_set() or any(answered(m) for m in dials):
        return Handoff(TransferResult.ANSWERED, answered_by="|".join(s.arg for s in p.steps))
    voicemail = any(m.get("Application") == "voicemail" for m in seen)
    return nobody_took([(freeswitch_result(dial_cause(m)), dial_cause(m)) for m in dials], voicemail)
