"""A stand-in FreeSWITCH for the outbound Event Socket: the socket app's side.

FreeSWITCH cannot be installed here, so this peer plays its part from the
byte-exact captures of a real FreeSWITCH 1.10.12 (captures/): the connect
reply, command replies and every event are the captured frames, with only
the call's uuid, numbers and the application fields rewritten (and
Content-Length recomputed). It enforces what FreeSWITCH enforces: `connect`
first, commands framed by a blank line, `sendmsg` answered `+OK` at once
(even after the hang-up) with the work done later, unicast audio only while
no application runs, unicast torn down by playback-like applications and by
a packet-time change, and with `linger` the socket is never closed by it.

Pure stdlib (threads and blocking sockets): it never shares the worker's
event loop.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from fake_caller import CallerScript, CallerSide, rms  # noqa: F401 (rms: re-exported for the tests)
from fs_captures import (  # noqa: F401 (re-exported: the tests and the bench import them from here)
    CODEC_HEADERS,
    Captures,
    Command,
    EventTemplate,
    captures,
    codec_headers,
    frame_event,
    fs_encode,
    read_command,
    serialize_event,
    split_event_frame,
)


CODEC_NAMES = {8000: "PCMA", 16000: "G722", 48000: "opus"}  # what FreeSWITCH reports at these rates

# ------------------------------------------------------------------ the peer


@dataclass
class BridgeBehaviour:
    """What happens when the app bridges: who answers (by dial string)."""

    answer: set[str] = field(default_factory=set)
    talk_s: float = 0.5
    causes: dict[str, str] = field(default_factory=dict)  # why a dial string is not answered (NO_ANSWER)


class FakeFreeSwitch(CallerSide):
    """One call: connects to the app like the `socket` dialplan app, then obeys it."""

    def __init__(self, app_addr: tuple[str, int], *, caller: str = "+15551234567", destination: str = "1000",
                 variables: dict[str, str] | None = None, script: CallerScript | None = None,
                 bridge: BridgeBehaviour | None = None, rate: int = 8000, ptime_ms: int = 20,
                 codec: str | None = None, late_negotiation: bool = False, codec_in_events: bool = True,
                 codec_change_at_s: float | None = None, external_app_at_s: float | None = None,
                 caller_hangup_at_s: float | None = None,
                 stuck_apps: tuple[str, ...] = ()):
        self.app_addr = app_addr
        self.uuid = str(uuidlib.uuid4())
        self.caller = caller
        self.destination = destination
        self.variables = dict(variables or {})
        self.script = script
        self.bridge_behaviour = bridge or BridgeBehaviour()
        self.rate = rate
        # The read codec (unicast is L16 at its rate). Late negotiation (the
        # stock configuration): not in the connect reply, known from the answer on.
        self.codec = (codec or CODEC_NAMES.get(rate, "L16"), rate)
        self.late_negotiation = late_negotiation
        self.codec_in_events = codec_in_events  # False: only uuid_getvar tells it
        self._negotiated = not late_negotiation
        self.ptime_ms = ptime_ms
        self.codec_change_at_s = codec_change_at_s
        self.external_app_at_s = external_app_at_s
        self.caller_hangup_at_s = caller_hangup_at_s
        self.stuck_apps = stuck_apps  # applications that run until the hang-up (park, a long bridge)
        self.cap = captures()
        # what happened, for the test to check
        self.received: list[Command] = []
        self.sent = bytearray()
        self.answered = False
        self.hung_up = threading.Event()
        self.hangup_cause: str | None = None
        self.closed_by_app = threading.Event()
        self.closed_after_notice_s: float | None = None
        self.channel_vars: dict[str, str] = {}
        self.exported: dict[str, str] = {}
        self.bridged_to: list[str] = []
        self.apps: list[tuple[str, str]] = []
        self.unicast_arms: list[dict[str, str]] = []
        self.bot_packets: list[tuple[float, bytes]] = []
        self.caller_turns_spoken = 0
        self.transferred_to: str | None = None
        self.errors: list[str] = []
        self.resumed = False
        # internals
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._media_lock = threading.Lock()
        self._media: socket.socket | None = None
        self._media_remote: tuple[str, int] | None = None
        self._media_gen = 0
        self._app_running = 0
        self._t0 = 0.0
        self._notice_at: float | None = None
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        self._caller_speaking = threading.Event()

    # ------------------------------------------------------------ running

    def run(self, timeout: float = 240.0) -> FakeFreeSwitch:
        self._t0 = time.monotonic()
        self._sock = socket.create_connection(self.app_addr, timeout=10)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        try:
            first = read_command(self._sock, buf, 25.0)  # FS waits 25 s for the first packet
            if first is None or first.line != "connect":
                self.errors.append(f"first command was {first.line if first else None!r}, not connect")
                return self
            self.received.append(first)
            self._send(self.cap.connect(self.uuid, self.caller, self.destination, self.variables,
                                        late=self.late_negotiation,
                                        codec=self.codec if self.codec_in_events else None))
            for job in (self._timed_events,):
                t = threading.Thread(target=job, daemon=True)
                t.start()
                self._threads.append(t)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    cmd = read_command(self._sock, buf, max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    self.errors.append("the app went quiet")
                    break
                if cmd is None:
                    if self._notice_at is not None:
                        self.closed_after_notice_s = time.monotonic() - self._notice_at
                    self.closed_by_app.set()
                    break
                self.received.append(cmd)
                if not self._obey(cmd):
                    break
        finally:
            self._done.set()
            self._stop_media()
            try:
                self._sock.close()
            except OSError:
                pass
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    # ------------------------------------------------------------ sending

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.sent += data
            try:
                assert self._sock is not None
                self._sock.sendall(data)
            except OSError:
                pass

    def _reply(self, text: str) -> None:
        if text == "+OK":
            self._send(self.cap.ok_reply)
        else:
            self._send(f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())

    def _event(self, template: EventTemplate, set_: dict[str, str] | None = None, drop: tuple[str, ...] = (),
               name: str | None = None) -> None:
        if self._negotiated and self.codec_in_events:
            set_ = {**codec_headers(self.codec), **(set_ or {})}
        else:
            drop = (*drop, *CODEC_HEADERS)
            set_ = {k: v for k, v in (set_ or {}).items() if k not in CODEC_HEADERS}
        self._send(template.render(self.uuid, set_=set_, drop=drop, name=name))

    # ------------------------------------------------------------ commands

    def _obey(self, cmd: Command) -> bool:
        line = cmd.line
        if line == "myevents":
            self._send(self.cap.myevents_reply)
        elif line.startswith("linger"):
            self._send(self.cap.linger_reply)
        elif line.startswith("event plain"):
            self._send(self.cap.event_reply)
        elif line == "resume":
            self.resumed = True
            self._reply("+OK")
        elif line == "exit":
            self._reply("+OK bye")
            return False
        elif line.startswith("api "):
            self._api(line[4:])
        elif line.startswith("sendmsg"):
            self._reply("+OK")  # queued; in async mode always +OK, even after hang-up
            if not self.hung_up.is_set():
                threading.Thread(target=self._sendmsg, args=(cmd,), daemon=True).start()
        else:
            self._reply("-ERR command not found")
        return True

    def _api(self, text: str) -> None:
        parts = text.split()
        body = "-ERR no reply\n"
        if parts[:1] == ["uuid_getvar"] and len(parts) == 3 and parts[2] in ("read_codec", "read_rate"):
            value = self.codec[0] if parts[2] == "read_codec" else str(self.codec[1])
            body = value if self._negotiated and parts[1] == self.uuid else "_undef_"
        elif parts[:1] == ["uuid_transfer"] and len(parts) >= 3:
            if parts[1] != self.uuid:
                body = "-ERR No such channel!\n"
            else:
                body = "+OK\n"
                self.transferred_to = " ".join(parts[2:])
                threading.Thread(target=self._after_transfer, daemon=True).start()
        data = body.encode()
        self._send(f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data)

    def _sendmsg(self, cmd: Command) -> None:
        kind = cmd.h("call-command")
        if kind == "execute":
            app = cmd.h("execute-app-name")
            arg = cmd.h("execute-app-arg") or (cmd.body.decode() if cmd.body else "")
            self._execute(app, arg, cmd.h("event-uuid") or str(uuidlib.uuid4()))
        elif kind == "unicast":
            self._unicast(cmd)
        elif kind == "hangup":
            self._hangup(cmd.h("hangup-cause", "NORMAL_CLEARING"))
        else:
            self.errors.append(f"unknown call-command {kind!r}")

    def _execute(self, app: str, arg: str, app_uuid: str) -> None:
        self.apps.append((app, arg))
        self._app_running += 1
        extra: dict[str, str] = {}
        fields = {"Application": app, "Application-Data": arg, "Application-UUID": app_uuid,
                  "variable_current_application": app}
        try:
            self._event(self.cap.execute, set_=dict(fields), drop=("Application-Data",) if not arg else ())
            if app == "answer":
                time.sleep(0.02)
                self.answered = True
                if self.late_negotiation:
                    self._negotiated = True
                    for template, codec_fields in self.cap.answered(self.codec):
                        self._event(template, set_=codec_fields)
                else:
                    self._event(self.cap.answer)
            elif app in ("set", "export"):
                name, _, value = arg.partition("=")
                self.channel_vars[name] = value
                if app == "export":
                    self.exported[name] = value
            elif app in self.stuck_apps:
                self.hung_up.wait()
                return
            elif app == "bridge":
                extra = self._bridge(arg)
            elif app in ("playback", "voicemail", "callcenter"):
                time.sleep(0.3)
                self._unicast_down()  # switch_core_session_reset() at the end of the app
            response = "FILE PLAYED" if app == "playback" else "_none_"
            self._event(self.cap.complete, set_={**fields, "Application-Response": response, **extra},
                        drop=("Application-Data",) if not arg else ())
        finally:
            self._app_running -= 1
        if app == "bridge" and extra.get("variable_DIALSTATUS") == "SUCCESS" and \
                self.channel_vars.get("hangup_after_bridge") == "true":
            self._hangup("NORMAL_CLEARING")

    def _bridge(self, dial: str) -> dict[str, str]:
        self.bridged_to.append(dial)
        self._unicast_down()
        # ',' rings together, '|' one after the other: someone of them answers
        if any(one in self.bridge_behaviour.answer for one in dial.replace(",", "|").split("|")):
            b_uuid = str(uuidlib.uuid4())
            self._event(self.cap.bridge, set_={"Bridge-B-Unique-ID": b_uuid, "Other-Leg-Unique-ID": b_uuid})
            time.sleep(self.bridge_behaviour.talk_s)
            self._event(self.cap.unbridge, set_={"Bridge-B-Unique-ID": b_uuid, "Other-Leg-Unique-ID": b_uuid})
            return {"variable_DIALSTATUS": "SUCCESS", "variable_originate_disposition": "SUCCESS",
                    "variable_bridge_hangup_cause": "NORMAL_CLEARING"}
        time.sleep(0.2)
        # switch_ivr_originate.c: DIALSTATUS from the cause, originate_disposition the cause itself
        cause = self.bridge_behaviour.causes.get(dial.replace(",", "|").split("|")[-1], "NO_ANSWER")
        status = {"NO_ANSWER": "NOANSWER", "USER_BUSY": "BUSY", "CALL_REJECTED": "DONTCALL"}.get(cause, cause)
        return {"variable_DIALSTATUS": status, "variable_originate_disposition": cause}

    def _hangup(self, cause: str) -> None:
        if self.hung_up.is_set():
            return
        self.hangup_cause = cause
        self.hung_up.set()
        self._stop_media()
        self._event(self.cap.hangup, set_={"Hangup-Cause": cause})
        self._event(self.cap.unpark)
        self._event(self.cap.complete, set_={"Application": "socket", "Application-Data": "127.0.0.1:8084 async full",
                                             "Application-UUID": str(uuidlib.uuid4())})
        self._event(self.cap.state, set_={"Channel-State": "CS_HANGUP"})
        self._event(self.cap.state, set_={"Channel-State": "CS_REPORTING"})
        self._event(self.cap.hangup_complete, set_={"Hangup-Cause": cause})
        self._notice_at = time.monotonic()
        self._send(self.cap.disconnect(self.uuid))
        # linger -1: FreeSWITCH never closes; the app must.

    def _after_transfer(self) -> None:
        """The socket app ends; the callticket-transfer context runs (freeswitch-conf/dialplan)."""
        self._unicast_down()
        self._event(self.cap.unpark)
        self._event(self.cap.complete, set_={"Application": "socket", "Application-Data": "127.0.0.1:8084 async full",
                                             "Application-UUID": str(uuidlib.uuid4())})
        dial = self.channel_vars.get("callticket_dial", "")
        if dial:
            self._execute("bridge", dial, str(uuidlib.uuid4()))
            if self.hung_up.is_set():
                return  # answered: hangup_after_bridge ended the call
        if self.channel_vars.get("callticket_voicemail"):
            self._execute("voicemail", self.channel_vars["callticket_voicemail"], str(uuidlib.uuid4()))
        self._hangup("NO_ANSWER")

    def dtmf(self, digit: str) -> None:
        self._event(self.cap.answer, name="DTMF",
                    set_={"DTMF-Digit": digit, "DTMF-Duration": "2000", "DTMF-Source": "RTP"})

    def caller_hangs_up(self) -> None:
        self._hangup("NORMAL_CLEARING")

    # ------------------------------------------------------------ unicast

    def _unicast(self, cmd: Command) -> None:
        self.unicast_arms.append(dict(cmd.headers))
        local = (cmd.h("local-ip", "127.0.0.1"), int(cmd.h("local-port", "8025")))
        remote = (cmd.h("remote-ip", "127.0.0.1"), int(cmd.h("remote-port", "8026")))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # transport tcp or not: always UDP
        try:
            sock.bind(local)
        except OSError as exc:
            self.errors.append(f"unicast bind {local}: {exc}")
            sock.close()
            return
        with self._media_lock:
            self._stop_media_locked()
            self._media = sock
            self._media_remote = remote
            self._media_gen += 1
            gen = self._media_gen
        threading.Thread(target=self._media_rx, args=(sock, gen), daemon=True).start()
        threading.Thread(target=self._media_tx, args=(sock, gen), daemon=True).start()

    def _unicast_down(self) -> None:
        with self._media_lock:
            self._stop_media_locked()

    def _stop_media(self) -> None:
        with self._media_lock:
            self._stop_media_locked()

    def _stop_media_locked(self) -> None:
        if self._media is not None:
            self._media_gen += 1
            try:
                self._media.close()
            except OSError:
                pass
            self._media = None

    def _media_rx(self, sock: socket.socket, gen: int) -> None:
        sock.settimeout(0.2)
        while gen == self._media_gen and not self._done.is_set():
            try:
                data, _ = sock.recvfrom(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            self.bot_packets.append((time.monotonic(), data))

    def _frame_bytes(self) -> int:
        return self.rate * 2 * self.ptime_ms // 1000

    def _media_tx(self, sock: socket.socket, gen: int) -> None:
        """The park loop: one L16 datagram per packet time, the caller's voice or line silence."""
        next_at = time.monotonic()
        while gen == self._media_gen and not self._done.is_set():
            if self._app_running:  # an app holds the channel: the park loop sends nothing
                time.sleep(0.02)
                next_at = time.monotonic()
                continue
            size = self._frame_bytes()
            frame = self._caller_frame(size)
            try:
                assert self._media_remote is not None
                sock.sendto(frame, self._media_remote)
            except OSError:
                return  # a failed sendto deactivates unicast (switch_ivr.c)
            next_at += self.ptime_ms / 1000
            time.sleep(max(0.0, next_at - time.monotonic()))

    # ------------------------------------------------------------ results

    def sent_blocks(self, call_command: str | None = None) -> list[bytes]:
        return [c.raw for c in self.received
                if call_command is None or c.h("call-command") == call_command]
