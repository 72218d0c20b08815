"""The FreeSWITCH worker: outbound Event Socket control + unicast media + native-bridge transfer.

FreeSWITCH's dialplan runs `socket 127.0.0.1:8084 async full`; FreeSWITCH
connects here, one TCP connection per call, and each connection gets its
own greenlet:

    connect            -> CHANNEL_DATA: caller, dialled number, uuid, variables
    myevents, linger   -> this channel's events, and those after the hang-up
    answer             -> (waits for its CHANNEL_EXECUTE_COMPLETE)
    the read codec     -> from the answer's events (late negotiation), else uuid_getvar
    unicast            -> caller audio in, bot audio out (UDP, L16 at the codec's rate)
    the call core      -> GreenCallSession until it hangs up or transfers
    bridge | uuid_transfer | hangup
    text/disconnect-notice -> we close the socket (linger never does)

A call no Playbook answers, or one over `max_calls`, is handed back to the
dialplan (`resume`) with `callticket_status` set. Whatever goes wrong on one
connection (garbage, a dead peer) ends that connection only. Until a
connection has answered `connect` with its channel's data it is a stranger:
it waits within a small budget of sockets (agi.pbx.admission), for
`connect_timeout_s` at most, and may send only small messages; refusals are
logged and counted (agi.refusals).
"""

from __future__ import annotations

import logging
import socket as pysocket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import gevent
import gevent.event
import gevent.lock
from gevent.server import StreamServer

from agi import events as ev
from agi import metrics
from agi.config import FREESWITCH_MEDIA_PORTS
from agi.dialstrings import Pbx
from agi.dialogue.policy import mask_number
from agi.handoff import Handoff, TransferResult, settle
from agi.logs import call_context, log_event
from agi.pbx.admission import Admission
from agi.pbx.freeswitch import transfer as xfer
from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.channel import SUPPORTED_RATES, ChannelInfo, FsChannel, ReadCodec
from agi.pbx.freeswitch.driver import GreenCallSession, GreenSpeech
from agi.pbx.freeswitch.esl import EslCommandFailed, EslConnection, EslGone
from agi.pbx.freeswitch.unicast import PortRange, UnicastMedia
from agi.session import call_record
from agi.playbook import LoadedPlaybook
from agi.refusals import Reason, Refusals

log = logging.getLogger("callticket.freeswitch")

# A stranger's messages: the connect reply is a CHANNEL_DATA block of about
# 6 KB with no body. A call's own: events of about 10 KB (HANGUP_COMPLETE).
STRANGER_HEADER_BYTES = 64 * 1024
STRANGER_BODY_BYTES = 4 * 1024
CALL_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CallOutcome:
    transfer: ev.Transfer | None = None
    reason: str = ""
    outcome: str | None = None  # committed | transferred | hung_up | refused | error
    record: dict[str, Any] | None = field(default=None, compare=False)  # for the call record
    declined: str | None = None  # callticket_status when the call went back to the dialplan
    summary: dict[str, Any] | None = field(default=None, compare=False)  # the "call result" log line
    handoff: Handoff | None = None  # the bridge's end, when the call was handed to a person
    status: str = "DONE"  # for the "call ended" line: DONE, TRANSFERRED, TRANSFER_FAILED, or declined


class UnicastPort:
    """The call's channel and unicast media, as the green session's media port."""

    def __init__(self, channel: FsChannel, media: UnicastMedia, sample_rate: int):
        self.channel = channel
        self.media = media
        self.sample_rate = sample_rate

    def attach(self, post: Callable[[ev.Event], None]) -> None:
        rate = self.sample_rate
        self.media.attach(lambda pcm: post(ev.AudioIn(pcm, rate)))
        self.channel.on_dtmf.append(lambda digit: post(ev.Dtmf(digit)))
        self.channel.on_hangup.append(lambda: post(ev.Hangup()))
        if self.channel.hungup.is_set():
            post(ev.Hangup())

    def play(self, pcm: bytes):
        return self.media.play(pcm)

    def stop_playback(self) -> None:
        self.media.stop_playback()


# A call runner drives one call over its port and says how it ended.
CallRunner = Callable[[ChannelInfo, UnicastPort], CallOutcome]
RunnerFactory = Callable[[ChannelInfo], "CallRunner | None"]


@dataclass
class EslWorkerConfig:
    host: str = "127.0.0.1"
    port: int = 8084
    media_host: str = "127.0.0.1"  # where FreeSWITCH sends unicast audio (our side)
    media_ports: tuple[int, int] = FREESWITCH_MEDIA_PORTS
    fs_media_ip: str = "127.0.0.1"  # where FreeSWITCH binds its unicast port
    max_calls: int = 50
    transfer_mode: Literal["bridge", "uuid_transfer"] = "bridge"
    transfer_context: str = "callticket-transfer"
    connect_timeout_s: float = 3.0  # FreeSWITCH answers `connect` at once
    reply_timeout_s: float = 10.0
    answer_timeout_s: float = 15.0
    linger_s: float = 10.0  # after our hang-up: how long to wait for the disconnect notice
    bridged_max_s: float = 4 * 3600.0  # after a transfer: the socket stays until the bridged call ends
    rearm_after_s: float = 0.25


class EslWorker:
    def __init__(self, config: EslWorkerConfig, runners: RunnerFactory, lifecycle: Any = None):
        self.config = config
        # agi.ops_http.Lifecycle: call records and metrics; None counts metrics only.
        self.lifecycle = lifecycle
        self.runners = runners
        self.ports = PortRange(config.media_host, *config.media_ports)
        self.server = StreamServer((config.host, config.port), self.handle)
        self._calls = gevent.lock.BoundedSemaphore(config.max_calls)
        self.admission: Admission[gevent.Greenlet] = Admission(config.max_calls * 2 + 16)
        self.refused = Refusals("esl")
        self.active = 0
        self.calls_started = 0
        self.calls_finished = 0
        self.connections = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> None:
        self.server.start()
        log.info("freeswitch worker listening", extra={"fields": {
            "esl": f"{self.config.host}:{self.server.server_port}",
            "media": f"{self.config.media_host}:{self.config.media_ports[0]}-{self.config.media_ports[1]}",
            "transfer_mode": self.config.transfer_mode}})

    def stop(self, grace_s: float = 30.0) -> None:
        self.server.stop(timeout=grace_s)

    # ------------------------------------------------------------ one connection

    def handle(self, sock: pysocket.socket, address: tuple[str, int]) -> None:
        self.connections += 1
        me = gevent.getcurrent()
        evict = self.admission.arrive(me)
        if evict is not None:  # the oldest stranger makes room; FreeSWITCH answers `connect` at once
            self.refused(Reason.EVICTED, detail="waiting connections over their budget")
            evict.kill(block=False)
        try:
            self._handle(sock, address)
        finally:
            self.admission.leave(me)

    def _handle(self, sock: pysocket.socket, address: tuple[str, int]) -> None:
        try:
            sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
        except OSError:
            pass
        conn = EslConnection(sock, reply_timeout_s=self.config.reply_timeout_s,
                             max_header_bytes=STRANGER_HEADER_BYTES, max_body_bytes=STRANGER_BODY_BYTES)
        try:
            reply = conn.request(b"connect\n\n", timeout=self.config.connect_timeout_s)
            info = ChannelInfo.from_channel_data(reply.headers)
        except (EslGone, wire.EslProtocolError) as exc:
            self.refused(Reason.NO_HEADER, address, str(exc))
            conn.close(str(exc))
            return
        except BaseException:  # evicted (GreenletExit) or the server stopping
            conn.close("closed by the worker")
            raise
        if not self.admission.identified(gevent.getcurrent()):
            self.refused(Reason.TOO_MANY, address, f"{self.admission.session_limit} sessions at once")
            conn.close("too many sessions")
            return
        conn.parser.max_header_bytes, conn.parser.max_body_bytes = wire.MAX_HEADER_BYTES, CALL_BODY_BYTES
        with call_context(info.uuid):
            channel = FsChannel(conn, info)
            try:
                self._call(channel, info)
            except Exception:
                log.exception("call failed")
            finally:
                channel.close()

    def _call(self, channel: FsChannel, info: ChannelInfo) -> None:
        runner = self.runners(info)
        if runner is None:
            log.info("no playbook for call", extra={"fields": {
                "route": (info.route or "")[:64], "called": info.called_number}})
            self._decline(channel, "NOROUTE")
            return
        if info.codec is not None and info.codec.rate not in SUPPORTED_RATES:
            self._unsupported(channel, info.codec)
            return
        if not self._calls.acquire(blocking=False):
            log.info("busy", extra={"fields": {"active": self.active, "max_calls": self.config.max_calls}})
            self._decline(channel, "BUSY")
            return
        self.calls_started += 1
        self.active += 1
        started = time.monotonic()
        log.info("call started", extra={"fields": {
            "route": info.route, "channel": info.channel, "caller": mask_number(info.caller_number),
            "called": info.called_number}})
        outcome = CallOutcome(reason="error", outcome="error")
        try:
            # The record and the metrics take the call's end as the bridge
            # tells it: a transfer counts once a person answered or nobody did.
            if self.lifecycle is None:
                with metrics.METRICS.track_call("freeswitch") as track:
                    outcome = self._run(channel, info, runner)
                    track.outcome = outcome.outcome
                    metrics.METRICS.observe_turns((outcome.record or {}).get("turns", []))
            else:
                with self.lifecycle.call(info.uuid, pbx="freeswitch", route=info.route, caller=info.caller_number,
                                         language=info.language, playbook=info.route) as handle:
                    outcome = self._run(channel, info, runner)
                    handle.result = {**(outcome.record or {}), "outcome": outcome.outcome}
        finally:
            self.active -= 1
            self._calls.release()
        try:
            if not outcome.declined:  # declined: back in the dialplan, its actions after `socket` run
                # linger: FreeSWITCH never closes; the notice says the channel is gone.
                bridged = outcome.handoff is not None and outcome.handoff.taken
                channel.wait_gone(self.config.bridged_max_s if bridged else self.config.linger_s)
        finally:
            self.calls_finished += 1
            log.info("call ended", extra={"fields": {
                "status": outcome.status, "outcome": outcome.outcome, "hangup_cause": channel.hangup_cause,
                "seconds": round(time.monotonic() - started, 2)}})

    def _run(self, channel: FsChannel, info: ChannelInfo, runner: CallRunner) -> CallOutcome:
        """The conversation, then the bridge to a person or the hang-up; how the call ended."""
        outcome = self._converse(channel, info, runner)
        if outcome.declined:
            return replace(outcome, status=outcome.declined)
        handoff = None
        if outcome.transfer is not None:
            t = outcome.transfer
            handoff = self._transfer(channel, t) if not channel.hungup.is_set() else \
                Handoff(TransferResult.NO_ANSWER, cause="caller hung up before the transfer")
            record = settle(outcome.record, handoff, t.reason, t.target.id)
            outcome = replace(outcome, outcome=record["outcome"], record=record, handoff=handoff,
                              status="TRANSFERRED" if handoff.taken else "TRANSFER_FAILED")
        elif not channel.hungup.is_set():
            channel.hangup("NORMAL_CLEARING")
        if outcome.summary is not None:
            log.info("call result", extra={"fields": {
                **outcome.summary, "outcome": outcome.outcome, "transfer": (outcome.record or {}).get("transfer")}})
        return outcome

    def _converse(self, channel: FsChannel, info: ChannelInfo, runner: CallRunner) -> CallOutcome:
        try:
            channel.subscribe(linger=True)
            complete = channel.execute("answer", timeout=self.config.answer_timeout_s)
        except (EslGone, EslCommandFailed) as exc:
            log.info("call lost before answer", extra={"fields": {"error": str(exc)}})
            return CallOutcome(reason="lost", outcome="hung_up")
        if complete is None:
            return CallOutcome(reason="caller hung up before answer", outcome="hung_up")
        codec = self._read_codec(channel)
        log.info("call answered", extra={"fields": {"codec": codec.name, "rate": codec.rate}})
        if codec.rate not in SUPPORTED_RATES:
            self._unsupported(channel, codec)
            return CallOutcome(reason="unsupported codec", outcome="error", declined="UNSUPPORTED_CODEC")
        rate = codec.rate
        media = UnicastMedia(channel, self.ports, sample_rate=rate, fs_ip=self.config.fs_media_ip,
                             rearm_after_s=self.config.rearm_after_s)
        try:
            media.start()
            return runner(info, UnicastPort(channel, media, rate))
        except Exception:
            log.exception("call runner failed")
            return CallOutcome(reason="error", outcome="error")
        finally:
            media.close()
            log.debug("unicast figures", extra={"fields": {
                "arms": media.arms, "rx_packets": media.rx_packets, "rx_dropped": media.rx_dropped,
                "tx_packets": media.tx_packets}})

    def _read_codec(self, channel: FsChannel) -> ReadCodec:
        """The codec the call was answered with: unicast carries L16 at its rate.

        The answer's own events report it; a FreeSWITCH whose events did not
        is asked (`uuid_getvar`); 8 kHz is assumed only when both say nothing.
        """
        if channel.codec is not None:
            return channel.codec
        try:
            name = channel.api("uuid_getvar", channel.info.uuid, "read_codec").strip()
            rate = channel.api("uuid_getvar", channel.info.uuid, "read_rate").strip()
        except (EslGone, EslCommandFailed) as exc:
            name, rate = "", str(exc)
        if rate.isdigit() and int(rate) > 0:
            return ReadCodec(name if not name.startswith(("-ERR", "_undef_")) else "", int(rate))
        log.warning("codec unknown; 8 kHz assumed", extra={"fields": {"read_rate": rate[:80]}})
        return ReadCodec("", 8000)

    def _unsupported(self, channel: FsChannel, codec: ReadCodec) -> None:
        log.warning("unsupported sample rate", extra={"fields": {"rate": codec.rate, "codec": codec.name}})
        self._decline(channel, "UNSUPPORTED_CODEC")

    def _transfer(self, channel: FsChannel, t: ev.Transfer) -> Handoff:
        try:
            p = xfer.plan(t.target, t.reason, t.summary)
        except xfer.UnsafeTarget as exc:
            log.error("transfer refused", extra={"fields": {"target": t.target.id, "error": str(exc)}})
            channel.hangup("NORMAL_CLEARING")
            return Handoff(TransferResult.FAILED, cause=str(exc))
        log.info("transfer", extra={"fields": {"target": p.target_id, "reason": p.reason,
                                               "mode": self.config.transfer_mode}})
        if self.config.transfer_mode == "uuid_transfer":
            handoff = xfer.uuid_transfer(channel, p, self.config.transfer_context)
        else:
            handoff = xfer.bridge(channel, p)
        log.info("transfer ended", extra={"fields": {"target": p.target_id, **handoff.fields()}})
        return handoff

    def _decline(self, channel: FsChannel, status: str) -> None:
        """Back to the dialplan: the actions after `socket` run (busy prompt, operator...)."""
        try:
            channel.conn.command(wire.execute("set", f"callticket_status={status}"))
            channel.conn.command(b"resume\n\n")
            channel.conn.request(b"exit\n\n", timeout=2.0)
        except (EslGone, EslCommandFailed) as exc:
            log.info("decline not completed", extra={"fields": {"error": str(exc)}})


# ------------------------------------------------------------------ Playbook runners


class GreenRunner:
    """Runs every call of one Playbook on the green session."""

    def __init__(self, loaded: LoadedPlaybook, data_dir: Path, speech: GreenSpeech,
                 committer: Callable[..., Any] | None = None, config: Any = None):
        from agi.pbx.asterisk.session_runner import HangupHistory

        self.loaded = loaded
        self.data_dir = Path(data_dir)
        self.speech = speech
        self.config = config  # the worker config: POS credentials and base URLs
        self._committer = committer
        # sqlite connections and POS clients stay in the one thread that made them
        self.commit_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pos-{loaded.id}")
        self.hangups = HangupHistory()
        for where, problem in loaded.playbook.escalation.problems_on(Pbx.FREESWITCH):  # check-config says so too
            log.error("transfer target FreeSWITCH cannot dial", extra={"fields": {
                "playbook": loaded.id, "where": ".".join(map(str, where)), "problem": problem}})

    def __call__(self, info: ChannelInfo, port: UnicastPort) -> CallOutcome:
        from agi.call import CallController

        tz = self.loaded.playbook.business.tz
        now = time.monotonic()
        # The call reads `loaded.current_catalog()` on every turn: a vendor POS's
        # catalog live from the catalog store (webhooks, refreshes), else the file's.
        controller = CallController(self.loaded, self.loaded.current_catalog, now=datetime.now(tz),
                                    call_id=info.uuid, recent_hangups=self.hangups.count(info.caller_number, now))
        session = GreenCallSession(controller, port, self.speech, sample_rate=port.sample_rate,
                                   on_commit=self._commit_now, commit_pool=self.commit_pool,
                                   on_log=lambda c: log_event(log, c, info.uuid))
        result = session.run(info.started())
        outcome = controller.outcome or ("hung_up" if result.ended_by == "caller" else None)
        if outcome == "hung_up":
            self.hangups.add(info.caller_number, time.monotonic())
        latencies = [e.latency_ms for e in result.exchanges if e.latency_ms is not None]
        # Logged by the worker once the call is over (a transfer: once the bridge says how it went).
        summary = {
            "call_id": info.uuid, "pbx": "freeswitch", "outcome": outcome, "ended_by": result.ended_by,
            "turns": len(result.exchanges), "reply_latency_ms": latencies,
            "heard": [e.heard for e in result.exchanges], "dropped": [e.dropped for e in result.exchanges],
            "bot": [text for _, _, text in result.spoken], "pos": controller.pos,
            "transfer": controller.transfer, "cut_plays": result.cut_plays,
            "second_opinions": result.second_opinions,
            "second_opinions_early": session.early_seconds_used}
        reason = result.hangup.reason if result.hangup else result.ended_by
        record = call_record(controller.result(), outcome, result, controller.language)
        return CallOutcome(transfer=result.transfer, reason=reason, outcome=outcome, record=record, summary=summary)

    def _commit_now(self, ticket: Any, key: str) -> ev.CommitDone | ev.CommitFailed:
        if self._committer is None:
            from agi.pos_binding import committer_for, data_dir_from

            self._committer = committer_for(self.loaded, data_dir_from(self.data_dir), self.config)
        return self._committer(ticket, key)


ECHO_ROUTE = "callticket-echo"


def echo_runner(info: ChannelInfo, port: UnicastPort, seconds: float = 10.0) -> CallOutcome:
    """`callticket_playbook=callticket-echo`: the caller hears themself for a while.

    A plumbing check for FreeSWITCH admins (the socket reachable, unicast both
    ways, the audio path's delay), with no Playbook, speech or POS involved.
    """
    ended = gevent.event.Event()

    def post(event: ev.Event) -> None:
        if isinstance(event, ev.AudioIn):
            port.play(event.pcm)
        elif isinstance(event, ev.Hangup):
            ended.set()

    port.attach(post)
    ended.wait(seconds)
    return CallOutcome(reason="echo test over", outcome="hung_up")


def playbook_runners(registry: Any, data_dir: Path, speech: GreenSpeech, config: Any = None) -> RunnerFactory:
    """The runner for a call: the Playbook now serving its route (the
    `callticket_playbook` channel variable) or dialled number. A reloaded
    Playbook takes the next call; calls in progress keep theirs."""
    runners: dict[int, tuple[Any, GreenRunner]] = {}

    def factory(info: ChannelInfo) -> CallRunner | None:
        if info.route == ECHO_ROUTE:
            return echo_runner
        if info.route == "\0invalid":
            return None
        loaded = registry.get(info.route, info.called_number)
        if loaded is None:
            return None
        cached = runners.get(id(loaded))
        if cached is None or cached[0] is not loaded:
            cached = (loaded, GreenRunner(loaded, data_dir, speech, config=config))
            runners[id(loaded)] = cached
        return cached[1]

    return factory
