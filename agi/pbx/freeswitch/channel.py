"""The caller's channel, as an outbound Event Socket session sees it.

`ChannelInfo` is what the `connect` reply (a CHANNEL_DATA event) says about
the call. `FsChannel` runs the session: it subscribes to the channel's own
events, runs dialplan applications and waits for their completion, and
routes DTMF, app completions and the hang-up to whoever listens.

`sendmsg` is answered `+OK` as soon as FreeSWITCH has queued it (even after
the caller hung up): an application is done only when the
CHANNEL_EXECUTE_COMPLETE carrying our `Application-UUID` arrives.

The call's codec is not always in the `connect` reply: with the stock
`inbound-late-negotiation=true` the media is negotiated when the call is
answered, so the reply has no `Channel-Read-Codec-*` headers and the first
events that carry them are those of the answer (CHANNEL_PROGRESS_MEDIA,
CHANNEL_ANSWER, the answer's CHANNEL_EXECUTE_COMPLETE; recorded in
tests/freeswitch/captures/sip_late1). The channel keeps the latest codec any
of its events reports.
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import gevent
import gevent.event

from agi import events as ev
from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.esl import EslCommandFailed, EslConnection, EslGone
from agi.pbx.freeswitch.threads import spawn

log = logging.getLogger("callticket.freeswitch")

_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
_ROUTE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DIGIT = re.compile(r"^[0-9*#A-Da-d]$")
_LANG = re.compile(r"^[a-z]{2}")
SUPPORTED_RATES = (8000, 16000, 32000, 48000)  # what the VAD takes as it is


@dataclass(frozen=True, slots=True)
class ReadCodec:
    """The channel's read codec: unicast carries L16 at its rate."""

    name: str
    rate: int

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ReadCodec | None:
        """From an event's `Channel-Read-Codec-Name/Rate`; None when it has none."""
        rate = (headers.get("Channel-Read-Codec-Rate") or "").strip()
        if not rate.isdigit() or not 0 < int(rate) <= 192000:
            return None
        return cls((headers.get("Channel-Read-Codec-Name") or "").strip()[:32], int(rate))


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What FreeSWITCH tells us about a call in its CHANNEL_DATA."""

    uuid: str
    channel: str
    caller_number: str | None
    called_number: str | None
    route: str | None  # `callticket_playbook` channel variable, set in the dialplan
    language: str | None
    codec: ReadCodec | None  # None: not negotiated yet (late negotiation), known once answered
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_channel_data(cls, headers: Mapping[str, str]) -> ChannelInfo:
        uuid = headers.get("Unique-ID") or headers.get("Channel-Unique-ID") or ""
        if not re.fullmatch(r"^[A-Za-z0-9-]{8,64}$", uuid):
            raise wire.EslProtocolError(f"connect reply without a usable Unique-ID ({uuid[:40]!r})")
        variables = {k[len("variable_"):]: v for k, v in headers.items() if k.startswith("variable_")}
        caller = (headers.get("Caller-Caller-ID-Number") or "").strip()
        called = (headers.get("Caller-Destination-Number") or "").strip()
        route = (variables.get("callticket_playbook") or "").strip().lower() or None
        language = (variables.get("callticket_language") or variables.get("default_language") or "").lower()
        return cls(
            uuid=uuid,
            channel=headers.get("Channel-Name", ""),
            caller_number=caller if _NUMBER.fullmatch(caller) else None,
            called_number=called if _NUMBER.fullmatch(called) else None,
            route=route if route is None or _ROUTE.fullmatch(route) else "\0invalid",
            language=language[:2] if _LANG.match(language) else None,
            codec=ReadCodec.from_headers(headers),
            variables=variables,
        )

    def started(self) -> ev.CallStarted:
        return ev.CallStarted(self.caller_number, self.called_number, self.language, self.uuid, self.channel)


Listener = Callable[[wire.EslMessage], None]


class FsChannel:
    def __init__(self, conn: EslConnection, info: ChannelInfo):
        self.conn = conn
        self.info = info
        self.hungup = gevent.event.Event()  # the caller's channel is gone
        self.gone = gevent.event.Event()  # no more events will come (notice or socket end)
        self.bridged = gevent.event.Event()  # CHANNEL_BRIDGE: a person's leg was joined to the caller's
        self.hangup_cause: str | None = None
        self.codec: ReadCodec | None = info.codec  # the latest any event of the channel reported
        self.on_dtmf: list[Callable[[str], None]] = []
        self.on_app_complete: list[Listener] = []
        self.on_hangup: list[Callable[[], None]] = []
        self._waiters: dict[str, gevent.event.AsyncResult] = {}
        self._running: set[str] = set()
        self.events_seen = 0
        self._pump = spawn(self._events)

    # ------------------------------------------------------------ commands

    def subscribe(self, linger: bool = True) -> None:
        """`myevents` (this channel's events only) and `linger` (events after hang-up too)."""
        self.conn.command(b"myevents\n\n")
        if linger:
            self.conn.command(b"linger\n\n")

    @property
    def app_running(self) -> bool:
        """A dialplan application runs: FreeSWITCH sends no unicast audio meanwhile."""
        return bool(self._running)

    def execute(self, app: str, arg: str | None = None, *, wait: bool = True,
                timeout: float | None = None, until: gevent.event.Event | None = None) -> wire.EslMessage | None:
        """Run `app` on the channel; with `wait`, return its CHANNEL_EXECUTE_COMPLETE.

        None when the channel went away first, `until` was set first (a
        bridge's person answered: the app runs on, for the whole conversation)
        or `timeout` passed.
        """
        if self.hungup.is_set() or self.gone.is_set():
            return None
        if not wait:
            self.conn.command(wire.execute(app, arg))
            return None
        app_uuid = f"callticket-{app}-{uuidlib.uuid4().hex[:12]}"
        waiter = gevent.event.AsyncResult()
        self._waiters[app_uuid] = waiter
        try:
            self.conn.command(wire.execute(app, arg, event_uuid=app_uuid))
            done = gevent.wait([waiter, self.gone] + ([until] if until is not None else []), timeout=timeout, count=1)
            return waiter.get_nowait() if waiter in done or waiter.ready() else None
        finally:
            self._waiters.pop(app_uuid, None)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if self.hungup.is_set() or self.conn.closed.is_set():
            return
        try:
            self.conn.command(wire.hangup(cause))
        except (EslGone, EslCommandFailed) as exc:
            log.info("hangup not sent", extra={"fields": {"error": str(exc)}})

    def api(self, name: str, *args: str, timeout: float | None = None) -> str:
        reply = self.conn.request(wire.api(name, *args), timeout)
        return reply.reply_text

    def wait_gone(self, timeout: float) -> bool:
        """Until FreeSWITCH says the session is over (disconnect notice or socket end)."""
        return self.gone.wait(timeout)

    def close(self, reason: str = "call over") -> None:
        self.conn.close(reason)
        self._mark_gone()
        self._pump.kill(block=False)

    # ------------------------------------------------------------ events

    def _events(self) -> None:
        while True:
            message = self.conn.next_event()
            if message is None:
                self._mark_hungup(None)
                self._mark_gone()
                return
            try:
                self._dispatch(message)
            except Exception:  # one odd event must not stop the call's event flow
                log.exception("event handler failed", extra={"fields": {"event": message.event_name}})

    def _dispatch(self, message: wire.EslMessage) -> None:
        if message.content_type == wire.DISCONNECT_NOTICE:
            self._mark_hungup(None)
            self._mark_gone()
            return
        if message.event is None:
            return  # log/data, json or xml events: not asked for
        uid = message.get("Unique-ID")
        if uid and uid != self.info.uuid:
            return
        self.events_seen += 1
        codec = ReadCodec.from_headers(message.event.headers)
        if codec is not None:
            self.codec = codec
        name = message.event_name
        app_uuid = message.get("Application-UUID") or ""
        if name == "CHANNEL_EXECUTE":
            self._running.add(app_uuid)
        elif name == "CHANNEL_EXECUTE_COMPLETE":
            self._running.discard(app_uuid)
            waiter = self._waiters.get(app_uuid)
            if waiter is not None:
                waiter.set(message)
            for listener in list(self.on_app_complete):
                listener(message)
        elif name == "CHANNEL_BRIDGE":
            self.bridged.set()
        elif name == "DTMF":
            digit = (message.get("DTMF-Digit") or "").strip()
            if _DIGIT.fullmatch(digit):
                for handler in list(self.on_dtmf):
                    handler(digit.upper())
        elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
            self._mark_hungup(message.get("Hangup-Cause"))

    def _mark_hungup(self, cause: str | None) -> None:
        if self.hungup.is_set():
            return
        self.hangup_cause = cause or self.hangup_cause
        self.hungup.set()
        for handler in list(self.on_hangup):
            try:
                handler()
            except Exception:
                log.exception("hangup handler failed")

    def _mark_gone(self) -> None:
        self.gone.set()
