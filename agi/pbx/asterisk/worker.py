"""The Asterisk worker: FastAGI control + AudioSocket media + native-bridge transfer.

One FastAGI session per call. The worker picks the Playbook from the AGI
route name (`agi://host:4573/pizzeria`), reads the caller from the `agi_*`
variables, asks Asterisk to open an AudioSocket to us with a fresh UUID, and
hands the matched stream to a call runner (the call core bound to that
media port). When the runner ends the call, the worker ends the AudioSocket
leg and either returns the channel to the dialplan or bridges it to a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any, Awaitable, Callable, Literal

from agi import events as ev
from agi import metrics
from agi.dialogue.policy import mask_number
from agi.handoff import Handoff, TransferResult, asterisk_result, nobody_took, settle
from agi.logs import call_context
from agi.pbx.asterisk import transfer as xfer
from agi.pbx.asterisk.ami import AmiClient, AmiError
from agi.pbx.asterisk.audiosocket import AudioSocketServer, AudioSocketStream
from agi.pbx.asterisk.fastagi import (
    AgiChannel,
    AgiCommandError,
    AgiHangup,
    FastAgiServer,
    quote,
)

log = logging.getLogger("callticket.asterisk")

_ROUTE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What Asterisk tells us about a call in the agi_* variables."""

    route: str
    call_id: str
    channel: str
    caller_number: str | None
    called_number: str | None
    language: str | None
    options: dict[str, str] = field(default_factory=dict)
    server: str = ""  # the Asterisk that sent the call (its address): call ids are unique per server only

    @property
    def key(self) -> str:
        """The call's id across servers: `server/call_id` (two Asterisks sharing a database, or one
        POS, both number calls 1700000000.1)."""
        return f"{self.server}/{self.call_id}" if self.server else self.call_id

    @classmethod
    def from_agi(cls, agi: AgiChannel) -> "CallInfo":
        env = agi.headers
        options = {}
        for arg in agi.args:
            key, sep, value = arg.partition("=")
            if sep and key.strip():
                options[key.strip().lower()] = value.strip()
        caller = env.get("agi_callerid", "")
        called = env.get("agi_dnid", "")
        if not _NUMBER.match(called):
            called = env.get("agi_extension", "")
        language = options.get("language") or env.get("agi_language") or None
        writer = getattr(agi, "writer", None)
        peer = writer.get_extra_info("peername") if writer is not None else None
        return cls(
            route=agi.route,
            call_id=env.get("agi_uniqueid") or uuidlib.uuid4().hex,
            channel=env.get("agi_channel", ""),
            caller_number=caller if _NUMBER.match(caller) else None,
            called_number=called if _NUMBER.match(called) else None,
            language=(language or "")[:2].lower() or None,
            options=options,
            server=str(peer[0]) if isinstance(peer, tuple) and peer else "",
        )

    def started(self) -> ev.CallStarted:
        # The call core keys the order by this id (its idempotency key): the server is part of it.
        return ev.CallStarted(self.caller_number, self.called_number, self.language, self.key, self.channel)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How the call core ended a call: hang up, or hand it to a person."""

    transfer: ev.Transfer | None = None
    reason: str = ""
    outcome: str | None = None  # committed | transferred | transfer_failed | hung_up | refused (metrics, logs)
    record: dict[str, Any] | None = field(default=None, compare=False)  # for the call record
    summary: dict[str, Any] | None = field(default=None, compare=False)  # the "call result" log line


# A call runner drives one call over its media port and says how it ended.
CallRunner = Callable[[CallInfo, AudioSocketStream], Awaitable[CallOutcome]]
RunnerFactory = Callable[[CallInfo], CallRunner | None]  # None: no Playbook for this call


@dataclass
class _Track:
    outcome: str | None = None
    record: dict[str, Any] | None = None


def call_log(msg: str, **fields: object) -> None:
    log.info(msg, extra={"fields": fields})


@dataclass
class WorkerConfig:
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092
    # The address Asterisk connects to (differs from the bind address behind NAT).
    audiosocket_advertise: str | None = None
    max_calls: int = 50
    busy_prompt: str = "all-circuits-busy-now"
    transfer_mode: Literal["agi", "ami-redirect", "ami-blind"] = "agi"
    transfer_context: str = "callticket-transfer"
    predial: str | None = None  # e.g. "callticket-predial^s^1": SIP headers for the phone
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str | None = None  # AMI is used when set
    ami_secret: str | None = field(default=None, repr=False)  # else $CALLTICKET_AMI_SECRET
    audiosocket_connect_timeout_s: float = 5.0


class AsteriskWorker:
    def __init__(self, config: WorkerConfig, runners: RunnerFactory, lifecycle: Any = None):
        self.config = config
        # agi.ops_http.Lifecycle: call records, metrics, drain; None counts metrics only.
        self.lifecycle = lifecycle
        self._records: dict[str, dict[str, Any]] = {}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._ami_watch: dict[str, asyncio.Queue[dict[str, str]]] = {}  # caller's channel -> its AMI events
        self.runners = runners
        self.agi = FastAgiServer(config.agi_host, config.agi_port, max_calls=config.max_calls, busy=self._busy)
        self.agi.add_route("*", self.handle_call)
        self.audio = AudioSocketServer(config.audiosocket_host, config.audiosocket_port)
        self.ami: AmiClient | None = None
        self.calls_started = 0
        self.calls_finished = 0

    async def start(self) -> None:
        await self.audio.start()
        await self.agi.start()
        if self.config.ami_user:
            secret = self.config.ami_secret or os.environ.get("CALLTICKET_AMI_SECRET")
            if not secret:
                raise AmiError("the AMI secret is not set (CALLTICKET_AMI_SECRET)")
            self.ami = AmiClient(self.config.ami_host, self.config.ami_port,
                                 username=self.config.ami_user, secret=secret, on_event=self._ami_event)
            await self.ami.connect()
        log.info("asterisk worker listening", extra={"fields": {
            "agi": f"{self.config.agi_host}:{self.agi.port}",
            "audiosocket": f"{self.config.audiosocket_host}:{self.audio.port}",
            "transfer_mode": self.config.transfer_mode, "ami_connected": bool(self.ami)}})

    async def close(self) -> None:
        await self.agi.close()
        await self.audio.close()
        if self.ami is not None:
            self.ami.close()

    @property
    def audiosocket_address(self) -> str:
        """Where Asterisk connects for the call's audio."""
        if self.config.audiosocket_advertise:
            return self.config.audiosocket_advertise
        host = self.config.audiosocket_host
        if host in ("0.0.0.0", "::", ""):  # listening everywhere: Asterisk on this host reaches loopback
            host = "127.0.0.1"
        return f"{host}:{self.audio.port}"

    # ------------------------------------------------------------ one call

    async def handle_call(self, agi: AgiChannel) -> None:
        info = CallInfo.from_agi(agi)
        with call_context(info.call_id):
            await self._handle_call(agi, info)

    async def _handle_call(self, agi: AgiChannel, info: CallInfo) -> None:
        # a route name is a file stem, never a path
        runner = self.runners(info) if not info.route or _ROUTE.match(info.route) else None
        if runner is None:
            call_log("no playbook for route", route=info.route[:64])
            await agi.command("SET VARIABLE CALLTICKET_STATUS NOROUTE")
            return
        self.calls_started += 1
        started = time.monotonic()
        call_log("call started", route=info.route, channel=info.channel,
                 caller=mask_number(info.caller_number), called=info.called_number, language=info.language)
        if self.lifecycle is not None and not self.lifecycle.accepting:
            await self._busy(agi)  # draining for a stop: back to the dialplan's fallback
            return
        status = "FAILED"
        with self._tracked(info) as track:
            try:
                status, track.outcome = await self._run_call(agi, info, runner)
            finally:
                self.calls_finished += 1
                track.record = self._records.pop(info.key, None)
                summary = self._summaries.pop(info.key, None)
                if summary is not None:  # once the bridge, if any, said how the call ended
                    call_log("call result", **{**summary, "outcome": track.outcome,
                                               "transfer": (track.record or {}).get("transfer")})
                call_log("call ended", status=status, outcome=track.outcome,
                         seconds=round(time.monotonic() - started, 2))
            if not agi.hungup:
                with contextlib.suppress(AgiHangup, AgiCommandError):
                    await agi.command(f"SET VARIABLE CALLTICKET_STATUS {status}")

    @contextlib.contextmanager
    def _tracked(self, info: CallInfo) -> Iterator[Any]:
        """Metrics for every call; with a Lifecycle also the call record and the drain count."""
        if self.lifecycle is None:
            with metrics.METRICS.track_call("asterisk") as counted:
                track = _Track()
                try:
                    yield track
                finally:
                    counted.outcome = track.outcome
                    metrics.METRICS.observe_turns((track.record or {}).get("turns", []))
            return
        with self.lifecycle.call(info.call_id, pbx="asterisk", route=info.route, caller=info.caller_number,
                                 language=info.language, playbook=info.route, server=info.server) as handle:
            track = _Track()
            try:
                yield track
            finally:
                handle.result = {**(track.record or {}), "outcome": track.outcome}

    async def _run_call(self, agi: AgiChannel, info: CallInfo, runner: CallRunner) -> tuple[str, str]:
        """(CALLTICKET_STATUS for the dialplan, outcome for metrics)."""
        await agi.command("ANSWER")
        call_uuid = str(uuidlib.uuid4())
        pending = self.audio.expect(call_uuid)
        media = asyncio.create_task(
            agi.command(f"EXEC AudioSocket {quote(call_uuid + ',' + self.audiosocket_address)}", timeout=None),
            name=f"agi-audiosocket-{info.call_id}")
        try:
            done, _ = await asyncio.wait({pending, media}, timeout=self.config.audiosocket_connect_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if pending not in done:
                reply = media.result().line if media in done and media.exception() is None else None
                call_log("audiosocket did not connect", agi_reply=reply, address=self.audiosocket_address)
                return "FAILED", "error"
            stream = pending.result()
            outcome = await self._run_media(info, runner, stream)
            t = outcome.transfer
            if t is not None and self.config.transfer_mode != "agi" and self.ami is not None:
                status, handoff = await self._transfer_ami(agi, info, t, stream, media)
                return status, self._handed_off(info, t, handoff)
            await stream.hangup()  # the AudioSocket() application returns to us
            await self._settle(media)
            if t is not None:
                if agi.hungup:
                    handoff = Handoff(TransferResult.NO_ANSWER, cause="caller hung up before the transfer")
                    return "HUNGUP", self._handed_off(info, t, handoff)
                status, handoff = await self._transfer_agi(agi, info, t)
                return status, self._handed_off(info, t, handoff)
            if agi.hungup:
                return "HUNGUP", outcome.outcome or "hung_up"
            return "DONE", outcome.outcome or "hung_up"
        finally:
            self.audio.forget(call_uuid)
            if not media.done():
                media.cancel()
                with contextlib.suppress(BaseException):
                    await media

    async def _run_media(self, info: CallInfo, runner: CallRunner, stream: AudioSocketStream) -> CallOutcome:
        try:
            outcome = await runner(info, stream)
            if outcome.record is not None:
                self._records[info.key] = outcome.record
            if outcome.summary is not None:
                self._summaries[info.key] = outcome.summary
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call runner failed", extra={"fields": {"call_id": info.call_id}})
            return CallOutcome(reason="error", outcome="error")

    @staticmethod
    async def _settle(media: asyncio.Task[object], timeout: float = 5.0) -> None:
        with contextlib.suppress(asyncio.TimeoutError, AgiHangup, AgiCommandError):
            await asyncio.wait_for(asyncio.shield(media), timeout)

    def _handed_off(self, info: CallInfo, t: ev.Transfer, handoff: Handoff) -> str:
        """The call record with the bridge's result; the call's outcome."""
        record = settle(self._records.get(info.key), handoff, t.reason, t.target.id)
        self._records[info.key] = record
        return str(record["outcome"])

    async def _transfer_agi(self, agi: AgiChannel, info: CallInfo, t: ev.Transfer) -> tuple[str, Handoff]:
        try:
            p = xfer.plan(t.target, t.reason, t.summary)
        except xfer.UnsafeTarget as exc:
            call_log("transfer refused", error=str(exc))
            return "TRANSFER_FAILED", Handoff(TransferResult.FAILED, cause=str(exc))
        call_log("transfer", target=p.target_id, reason=p.reason, mode="agi")
        try:
            result = await xfer.transfer_with_agi(agi, p, predial=self.config.predial)
        except AgiHangup:
            call_log("caller hung up during the transfer", target=p.target_id)
            return "HUNGUP", Handoff(TransferResult.NO_ANSWER, cause="CANCEL")
        if result.answered_by:
            handoff = Handoff(TransferResult.ANSWERED, answered_by=result.answered_by)
        else:
            handoff = nobody_took([(asterisk_result(s), s) for s in result.statuses], result.voicemail)
        call_log("transfer ended", target=p.target_id, **handoff.fields())
        return ("TRANSFERRED" if handoff.taken else "TRANSFER_FAILED"), handoff

    async def _transfer_ami(self, agi: AgiChannel, info: CallInfo, t: ev.Transfer, stream: AudioSocketStream,
                            media: asyncio.Task[object]) -> tuple[str, Handoff]:
        """Leave the AGI: set the target's variables and send the channel to the transfer context.

        BlindTransfer moves the bridge peer of a channel; a caller talking to
        the AudioSocket application has none, so that case is a Redirect. If
        AMI fails altogether, the transfer still happens over the AGI. The
        result is what AMI then reports of the caller's channel (DialEnd)."""
        assert self.ami is not None
        try:
            p = xfer.plan(t.target, t.reason, t.summary)
        except xfer.UnsafeTarget as exc:
            call_log("transfer refused", error=str(exc))
            return "TRANSFER_FAILED", Handoff(TransferResult.FAILED, cause=str(exc))
        call_log("transfer", target=p.target_id, reason=p.reason, mode=self.config.transfer_mode)
        stream.stop_playback()
        events = self._ami_watch[info.channel] = asyncio.Queue()
        try:
            try:
                for name, value in xfer.redirect_vars(p).items():
                    await self.ami.setvar(info.channel, name, value)
                redirect = True
                if self.config.transfer_mode == "ami-blind":
                    try:
                        await self.ami.blind_transfer(info.channel, self.config.transfer_context)
                        redirect = False
                    except AmiError as exc:
                        call_log("blind transfer refused; redirecting", error=str(exc))
                if redirect:
                    await self.ami.redirect(info.channel, self.config.transfer_context)
            except (AmiError, asyncio.TimeoutError) as exc:
                call_log("ami transfer failed; transferring over the AGI", error=str(exc))
                await stream.hangup()
                await self._settle(media)
                if agi.hungup:
                    return "HUNGUP", Handoff(TransferResult.NO_ANSWER, cause="caller hung up before the transfer")
                return await self._transfer_agi(agi, info, t)
            await self._settle(media)  # the redirect ends AudioSocket() and this AGI
            await agi.close()  # Asterisk follows the redirect once the AGI session is over
            handoff = await dial_end(events, p.timeout_s * len(p.steps) + 300)
        finally:
            self._ami_watch.pop(info.channel, None)
        call_log("transfer ended", target=p.target_id, **handoff.fields())
        return ("TRANSFERRED" if handoff.taken else "TRANSFER_FAILED"), handoff

    async def _busy(self, agi: AgiChannel) -> None:
        """Over max_calls: a short prompt, then back to the dialplan."""
        info = CallInfo.from_agi(agi)
        with call_context(info.call_id):
            call_log("busy", active=self.agi.active, max_calls=self.config.max_calls)
        await agi.command("SET VARIABLE CALLTICKET_STATUS BUSY")
        if self.config.busy_prompt:
            await agi.command(f"EXEC Playback {quote(self.config.busy_prompt)}", timeout=30)

    def _ami_event(self, fields: dict[str, str]) -> None:
        log.info("ami " + fields.get("event", "event"), extra={"fields": {"ami": fields}})
        watching = self._ami_watch.get(fields.get("channel", ""))
        if watching is not None:
            watching.put_nowait(fields)


async def dial_end(events: asyncio.Queue[dict[str, str]], timeout_s: float) -> Handoff:
    """The transfer context's Dial() on the caller's channel, from its AMI events:
    a DialEnd ANSWER, or the last DialEnd's status once the channel hangs up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: str | None = None
    while True:
        try:
            event = await asyncio.wait_for(events.get(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            break
        if event.get("event") == "DialEnd":
            last = event.get("dialstatus") or last
            if last == "ANSWER":  # the phone's channel, without its sequence number: its dial string
                return Handoff(TransferResult.ANSWERED, answered_by=re.sub(r"-[0-9a-f]+$", "",
                                                                            event.get("destchannel", "")) or None)
        elif event.get("event") == "Hangup":
            break
    return Handoff(asterisk_result(last), cause=last) if last else Handoff(TransferResult.FAILED, cause="no dial")


ECHO_ROUTE = "callticket-echo"


async def echo_runner(info: CallInfo, stream: AudioSocketStream, seconds: float = 10.0) -> CallOutcome:
    """`AGI(agi://host/callticket-echo)`: the caller hears themself for a while.

    A plumbing check for PBX admins (FastAGI reachable, AudioSocket both
    ways, the audio path's delay), with no Playbook, speech or POS involved.
    """

    async def echo() -> None:
        async for event in stream.events():
            if isinstance(event, ev.AudioIn):
                stream.play(event.pcm)

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(echo(), seconds)
    return CallOutcome(reason="echo test over")
