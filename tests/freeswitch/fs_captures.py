"""FreeSWITCH's side of the wire, from the captures: its URL encoding, its
event framing, the captured frames re-issued for another call, and how
mod_event_socket reads a command (`read_packet`).

Captures of a real FreeSWITCH 1.10.12 (captures/):
- sip_transfer1: a sipp PCMA call with late negotiation off (the codec is in
  the connect reply), up to a `uuid_transfer`;
- loop1: a loopback call with a bridge;
- sip_late1 / sip_late_opus1: the stock configuration
  (`inbound-late-negotiation=true`): sipp calls over PCMU and over Opus to
  the echo check. The connect reply carries no `Channel-Read-Codec-*`; the
  answer's events (CHANNEL_PROGRESS_MEDIA, CHANNEL_ANSWER, its
  CHANNEL_EXECUTE_COMPLETE) are the first that do.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import quote

import transcript as tr

CAPTURED_UUID = "0891ec75-c325-4bf2-9a37-b9ffa2c776bf"  # sip_transfer1 (PCMA via sipp)
LOOP_UUID = "414b2244-8574-4bc7-bd99-329b57536399"  # loop1 (bridge capture)
LATE_UUID = "cf4fa3f4-4da3-45d6-8770-64d6945c899f"  # sip_late1 (stock late negotiation, PCMU via sipp)
CODEC_HEADERS = ("Channel-Read-Codec-Name", "Channel-Read-Codec-Rate", "Channel-Write-Codec-Name",
                 "Channel-Write-Codec-Rate")
_HEXPAIR = re.compile(r"%[0-9A-Fa-f]{2}")


# ------------------------------------------------------------------ FreeSWITCH's encoding


def fs_encode(value: str) -> str:
    """switch_url_encode_opt: control, >0x7E and unsafe bytes as %XX; existing %XX kept."""
    parts = _HEXPAIR.split(value)
    kept = _HEXPAIR.findall(value)
    out = [quote(parts[0], safe="/(),-._~!*'$")]
    for pair, part in zip(kept, parts[1:]):
        out += [pair, quote(part, safe="/(),-._~!*'$")]
    return "".join(out)


def serialize_event(headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """switch_event_serialize: `Name: value` with the values as given (already encoded)."""
    text = "".join(f"{k}: {v}\n" for k, v in headers)
    if body:
        return (text + f"Content-Length: {len(body)}\n\n").encode() + body
    return (text + "\n").encode()


def frame_event(serialized: bytes) -> bytes:
    """How mod_event_socket sends an event: Content-Length first."""
    return f"Content-Length: {len(serialized)}\nContent-Type: text/event-plain\n\n".encode() + serialized


def split_event_frame(frame: bytes) -> list[tuple[str, str]]:
    head, _, body = frame.partition(b"\n\n")
    assert head.startswith(b"Content-Length: "), head[:40]
    lines = body.rstrip(b"\n").split(b"\n")
    return [tuple(line.decode().split(": ", 1)) for line in lines]  # type: ignore[misc]


class EventTemplate:
    """A captured event, re-issued for another call with some fields changed."""

    def __init__(self, frame: bytes, old_uuid: str):
        self.headers = split_event_frame(frame)
        self.old_uuid = old_uuid

    def render(self, uuid: str, set_: dict[str, str] | None = None, drop: tuple[str, ...] = (),
               name: str | None = None) -> bytes:
        set_ = dict(set_ or {})
        if name:
            set_["Event-Name"] = name
        out: list[tuple[str, str]] = []
        for k, v in self.headers:
            if k in drop:
                continue
            v = v.replace(self.old_uuid, uuid)
            if k in set_:
                v = fs_encode(set_.pop(k))
            out.append((k, v))
        out += [(k, fs_encode(v)) for k, v in set_.items()]
        return frame_event(serialize_event(out))



class Captures:
    """The frames the peer replays."""

    def __init__(self) -> None:
        sip = tr.frames("sip_transfer1")
        from_fs = [f.data for f in sip if f.from_fs]
        self.connect_reply = from_fs[0]
        self.myevents_reply = from_fs[1]
        self.linger_reply = from_fs[2]
        self.event_reply = from_fs[3]
        self.ok_reply = from_fs[4]  # 'Content-Type: command/reply\nReply-Text: +OK\n\n'
        assert self.ok_reply == b"Content-Type: command/reply\nReply-Text: +OK\n\n", self.ok_reply
        self.park = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_PARK"), CAPTURED_UUID)
        self.execute = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_EXECUTE", b"Application: answer\n"),
                                     CAPTURED_UUID)
        self.answer = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_ANSWER"), CAPTURED_UUID)
        self.complete = EventTemplate(
            tr.first_event("sip_transfer1", "CHANNEL_EXECUTE_COMPLETE", b"Application: answer\n"), CAPTURED_UUID)
        self.hangup = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_HANGUP"), CAPTURED_UUID)
        self.unpark = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_UNPARK"), CAPTURED_UUID)
        self.state = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_STATE"), CAPTURED_UUID)
        self.hangup_complete = EventTemplate(tr.first_event("sip_transfer1", "CHANNEL_HANGUP_COMPLETE"), CAPTURED_UUID)
        self.bridge = EventTemplate(tr.first_event("loop1", "CHANNEL_BRIDGE"), LOOP_UUID)
        self.unbridge = EventTemplate(tr.first_event("loop1", "CHANNEL_UNBRIDGE"), LOOP_UUID)
        self.bridge_complete = EventTemplate(
            tr.first_event("loop1", "CHANNEL_EXECUTE_COMPLETE", b"Application: bridge\n"), LOOP_UUID)
        notice = [f.data for f in sip if f.from_fs and b"text/disconnect-notice" in f.data]
        self.disconnect_notice = notice[-1]
        # The stock configuration: no codec until the call is answered.
        late = [f.data for f in tr.frames("sip_late1") if f.from_fs]
        self.late_connect_reply = late[0]
        assert b"Channel-Read-Codec" not in self.late_connect_reply
        self.late_progress_media = EventTemplate(tr.first_event("sip_late1", "CHANNEL_PROGRESS_MEDIA"), LATE_UUID)
        self.late_answer = EventTemplate(tr.first_event("sip_late1", "CHANNEL_ANSWER"), LATE_UUID)
        self.late_complete = EventTemplate(
            tr.first_event("sip_late1", "CHANNEL_EXECUTE_COMPLETE", b"Application: answer\n"), LATE_UUID)

    def connect(self, uuid: str, caller: str, destination: str, variables: dict[str, str], *,
                late: bool = False, codec: tuple[str, int] | None = None) -> bytes:
        """The connect reply for another call: `late`, the stock configuration's
        (no codec yet); else the one with the codec, rewritten to `codec`."""
        reply, old_uuid = (self.late_connect_reply, LATE_UUID) if late else (self.connect_reply, CAPTURED_UUID)
        head = reply.rstrip(b"\n").decode().split("\n")
        tail = head[-4:]  # Content-Type, Reply-Text, Socket-Mode, Control: appended last by FS
        assert tail[0] == "Content-Type: command/reply", tail
        rewrite = codec_headers(codec) if codec else {}
        out = []
        for line in head[:-4]:
            k, v = line.split(": ", 1)
            if k.startswith("variable_") and k[len("variable_"):] in variables:
                continue  # the dialplan of this call sets its own
            v = v.replace(old_uuid, uuid)
            if k in rewrite:
                v = fs_encode(rewrite[k])
            elif k == "Caller-Caller-ID-Number" or k == "Channel-Caller-ID-Number" or k == "variable_sip_from_user":
                v = fs_encode(caller)
            elif k in ("Caller-Destination-Number", "Channel-Destination-Number", "variable_sip_to_user",
                       "variable_sip_req_user", "variable_destination_number"):
                v = fs_encode(destination)
            out.append(f"{k}: {v}")
        out += [f"variable_{k}: {fs_encode(v)}" for k, v in variables.items()]
        return ("\n".join(out + tail) + "\n\n").encode()

    def answered(self, codec: tuple[str, int]) -> list[tuple[EventTemplate, dict[str, str]]]:
        """The stock configuration's answer: the events that first carry the
        negotiated codec, with their codec headers set to `codec`."""
        fields = codec_headers(codec)
        return [(self.late_progress_media, fields), (self.late_answer, fields)]

    def disconnect(self, uuid: str) -> bytes:
        return self.disconnect_notice.replace(CAPTURED_UUID.encode(), uuid.encode())


def codec_headers(codec: tuple[str, int]) -> dict[str, str]:
    name, rate = codec
    return dict(zip(CODEC_HEADERS, (name, str(rate), name, str(rate))))


CAPTURES: Captures | None = None


def captures() -> Captures:
    global CAPTURES
    if CAPTURES is None:
        CAPTURES = Captures()
    return CAPTURES


# ------------------------------------------------------------------ commands from the app


@dataclass
class Command:
    line: str
    headers: dict[str, str]  # lower-cased names, as FreeSWITCH looks them up
    body: bytes
    raw: bytes

    def h(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def read_command(sock: socket.socket, buf: bytearray, timeout: float) -> Command | None:
    """MES read_packet: until two '\\n' (a '\\r' is ignored), then Content-Length bytes."""
    deadline = time.monotonic() + timeout
    while True:
        if b"\r" in buf:
            buf[:] = bytes(buf).replace(b"\r", b"")
        end = buf.find(b"\n\n")
        if end != -1:
            lines = bytes(buf[:end]).decode(errors="replace").split("\n")
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            total = end + 2 + length
            if len(buf) >= total:
                raw = bytes(buf[:total])
                del buf[:total]
                return Command(lines[0].strip(), headers, raw[end + 2 :], raw)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no command from the app")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no command from the app") from None
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
