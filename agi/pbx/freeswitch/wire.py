"""The Event Socket wire format, both directions, without any I/O.

FreeSWITCH -> us: blocks of `Name: value` lines ended by a blank line; when
the block has `Content-Length: N`, exactly N body bytes follow (and nothing
after them). `Content-Type` names what the block is; it is not always the
first header (the `connect` reply is a whole CHANNEL_DATA event with
`Content-Type: command/reply` near its end and no Content-Length), and events
put Content-Length first.

An event body (`text/event-plain`) is itself a header block whose values
are URL-encoded (`%XX`), optionally followed by an inner Content-Length and
body (BACKGROUND_JOB). Every value is decoded on its own, after the lines are
split: decoding the whole block first would turn a `%0A` inside a value into
a line break and let it forge headers (greenswitch 0.0.19 does that).

us -> FreeSWITCH: a command line, `Name: value` lines, a blank line. Nothing
here lets a line break reach the wire inside a value: that would smuggle a
second command into the socket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_HEADER_BYTES = 256 * 1024  # a connect reply is ~6 KB; a HANGUP_COMPLETE ~9 KB
MAX_BODY_BYTES = 16 * 1024 * 1024  # what FreeSWITCH itself accepts (master)

# Content types FreeSWITCH sends (mod_event_socket.c).
AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
EVENT_PLAIN = "text/event-plain"
EVENT_JSON = "text/event-json"
EVENT_XML = "text/event-xml"
DISCONNECT_NOTICE = "text/disconnect-notice"
LOG_DATA = "log/data"
RUDE_REJECTION = "text/rude-rejection"
KNOWN_TYPES = frozenset(
    {AUTH_REQUEST, COMMAND_REPLY, API_RESPONSE, EVENT_PLAIN, EVENT_JSON, EVENT_XML, DISCONNECT_NOTICE, LOG_DATA,
     RUDE_REJECTION}
)
REPLY_TYPES = frozenset({COMMAND_REPLY, API_RESPONSE})

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$")
_DIGITS = re.compile(r"^[0-9]{1,9}$")
_URL_UNSAFE = frozenset(b"\r\n #%&+:;<=>?@[\\]^`{|}\"")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class EslProtocolError(ValueError):
    """The peer sent something that is not Event Socket framing."""


# ------------------------------------------------------------------ encoding


def url_decode(value: str) -> str:
    """One header value, `%XX` decoded (UTF-8; a stray `%` stays as it is)."""
    return unquote(value, errors="replace") if "%" in value else value


def url_encode(value: str) -> str:
    """A value as `switch_url_encode_opt` writes it into a serialized event.

    Control bytes, bytes above 0x7E and the unsafe set become `%XX` (upper-case
    hex); a `%` already followed by two hex digits is left as it is.
    """
    data = value.encode("utf-8")
    out: list[str] = []
    for i, b in enumerate(data):
        if b == 0x25 and data[i + 1 : i + 2] and data[i + 1] in _HEX and data[i + 2 : i + 3] and data[i + 2] in _HEX:
            out.append("%")
        elif b < 0x20 or b > 0x7E or b in _URL_UNSAFE:
            out.append(f"%{b:02X}")
        else:
            out.append(chr(b))
    return "".join(out)


# ------------------------------------------------------------------ messages


@dataclass
class EslMessage:
    """One block from FreeSWITCH: its outer headers (decoded), body, and the
    event inside when it carries one."""

    headers: dict[str, str]
    body: bytes = b""
    raw: list[tuple[str, str]] = field(default_factory=list)  # (name, value) as on the wire
    event: EslEvent | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def is_reply(self) -> bool:
        return self.content_type in REPLY_TYPES

    @property
    def reply_text(self) -> str:
        """`+OK ...` / `-ERR ...` of a command reply, or an api response's body."""
        if self.content_type == API_RESPONSE:
            return self.body.decode("utf-8", "replace")
        return self.headers.get("Reply-Text", "")

    @property
    def ok(self) -> bool:
        return self.reply_text.startswith("+OK")

    def get(self, name: str, default: str | None = None) -> str | None:
        """A header of the event carried (or of the block itself, for CHANNEL_DATA)."""
        source = self.event.headers if self.event is not None else self.headers
        return source.get(name, default)

    @property
    def event_name(self) -> str | None:
        return self.get("Event-Name")


@dataclass
class EslEvent:
    headers: dict[str, str]
    body: bytes = b""
    raw: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.headers.get("Event-Name")


def _split_line(line: bytes) -> tuple[str, str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise EslProtocolError("header line is not UTF-8") from None
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _NAME.fullmatch(name):
        raise EslProtocolError(f"not a header line: {text[:60]!r}")
    return name, value.lstrip(" ")


def parse_header_lines(block: bytes, decode: bool) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """`Name: value` lines (already without the blank line) -> headers.

    `\\r` is ignored as FreeSWITCH ignores it. A repeated name keeps its
    first value in `headers` (all of them stay in the raw list).
    """
    headers: dict[str, str] = {}
    raw: list[tuple[str, str]] = []
    for line in block.replace(b"\r", b"").split(b"\n"):
        if not line:
            continue
        name, value = _split_line(line)
        raw.append((name, value))
        headers.setdefault(name, url_decode(value) if decode else value)
    return headers, raw


def content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("Content-Length")
    if value is None:
        return None
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        raise EslProtocolError(f"bad Content-Length {value[:20]!r}")
    length = int(value)
    if length > MAX_BODY_BYTES:
        raise EslProtocolError(f"Content-Length {length} is over {MAX_BODY_BYTES}")
    return length


def parse_event(body: bytes) -> EslEvent:
    """A `text/event-plain` body: URL-encoded headers, then maybe an inner body."""
    head, _, rest = body.partition(b"\n\n")
    headers, raw = parse_header_lines(head, decode=True)
    inner = b""
    length = content_length(headers)
    if length is not None:
        if len(rest) < length:
            raise EslProtocolError(f"event body shorter than its Content-Length ({len(rest)} < {length})")
        inner = rest[:length]
    if "Event-Name" not in headers:
        raise EslProtocolError("event without Event-Name")
    return EslEvent(headers, inner, raw)


class EslParser:
    """Bytes from FreeSWITCH in, whole messages out (`feed`).

    Raises `EslProtocolError` on anything that is not Event Socket framing;
    the connection must then be dropped (the byte stream cannot be resynced).
    """

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int = MAX_BODY_BYTES):
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes  # may change between messages (the worker's first one is small)
        self._buf = bytearray()
        self._pending: tuple[dict[str, str], list[tuple[str, str]], int] | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole message (a truncated tail)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[EslMessage]:
        self._buf += data
        out: list[EslMessage] = []
        while True:
            message = self._next()
            if message is None:
                return out
            out.append(message)

    def _next(self) -> EslMessage | None:
        if self._pending is None:
            # Blank lines between blocks carry nothing (FreeSWITCH skips them too).
            while self._buf[:1] in (b"\n", b"\r"):
                del self._buf[:1]
            end = self._buf.find(b"\n\n")
            crlf = self._buf.find(b"\r\n\r\n")
            if crlf != -1 and (end == -1 or crlf < end):
                end, sep = crlf, 4
            else:
                sep = 2
            if end == -1:
                if len(self._buf) > self.max_header_bytes:
                    raise EslProtocolError(f"header block over {self.max_header_bytes} bytes")
                return None
            block = bytes(self._buf[:end])
            del self._buf[: end + sep]
            outer, raw = parse_header_lines(block, decode=False)
            ctype = outer.get("Content-Type")
            if ctype is None:
                raise EslProtocolError("block without Content-Type")
            length = content_length(outer) or 0
            if length > self.max_body_bytes:
                raise EslProtocolError(f"Content-Length {length} is over {self.max_body_bytes}")
            self._pending = (outer, raw, length)
        outer, raw, length = self._pending
        if len(self._buf) < length:
            return None
        body = bytes(self._buf[:length])
        del self._buf[:length]
        self._pending = None
        return self._message(outer, raw, body)

    @staticmethod
    def _message(outer: dict[str, str], raw: list[tuple[str, str]], body: bytes) -> EslMessage:
        ctype = outer["Content-Type"]
        if ctype == DISCONNECT_NOTICE:
            # Written with plain printf, not URL-encoded (a '@' stays a '@').
            return EslMessage(dict(outer), body, raw)
        headers = {name: url_decode(value) for name, value in outer.items()}
        event = parse_event(body) if ctype == EVENT_PLAIN else None
        return EslMessage(headers, body, raw, event)


# ------------------------------------------------------------------ commands


class UnsafeCommand(ValueError):
    """A command or header value that would break the framing."""


def _clean(text: str, what: str) -> str:
    if "\n" in text or "\r" in text or "\0" in text:
        raise UnsafeCommand(f"{what} contains a line break: {text[:60]!r}")
    return text


def command(line: str, headers: Sequence[tuple[str, str]] = (), body: bytes | None = None) -> bytes:
    """One command block: `line`, `Name: value` lines, blank line (and a body)."""
    out = [_clean(line, "command")]
    for name, value in headers:
        if not _NAME.fullmatch(name):
            raise UnsafeCommand(f"bad header name {name!r}")
        out.append(f"{name}: {_clean(str(value), name)}")
    if body is not None:
        out.append(f"Content-Length: {len(body)}")
    data = ("\n".join(out) + "\n\n").encode("utf-8")
    return data + (body or b"")


def sendmsg(call_command: str, headers: Iterable[tuple[str, str]] = (), uuid: str | None = None) -> bytes:
    line = f"sendmsg {uuid}" if uuid else "sendmsg"
    return command(line, [("call-command", call_command), *headers])


def execute(app: str, arg: str | None = None, *, event_uuid: str | None = None, event_lock: bool = True,
            loops: int | None = None) -> bytes:
    """`sendmsg` running a dialplan application on the controlled channel.

    `event_uuid` comes back as `Application-UUID` in its CHANNEL_EXECUTE and
    CHANNEL_EXECUTE_COMPLETE events; `event-lock` keeps commands in order.
    """
    if not re.fullmatch(r"^[a-z_][a-z0-9_]*$", app):
        raise UnsafeCommand(f"not an application name: {app!r}")
    headers: list[tuple[str, str]] = [("execute-app-name", app)]
    if arg is not None:
        headers.append(("execute-app-arg", arg))
    if loops is not None:
        headers.append(("loops", str(int(loops))))
    if event_uuid:
        headers.append(("Event-UUID", event_uuid))
    if event_lock:
        headers.append(("event-lock", "true"))
    return sendmsg("execute", headers)


def unicast(local_ip: str, local_port: int, remote_ip: str, remote_port: int, transport: str = "udp",
            flags: str | None = None) -> bytes:
    """Stream the channel's audio (L16) to remote-ip:remote-port from FreeSWITCH's
    local-ip:local-port, and write what arrives on local-port into the call."""
    headers = [
        ("local-ip", local_ip),
        ("local-port", str(int(local_port))),
        ("remote-ip", remote_ip),
        ("remote-port", str(int(remote_port))),
        ("transport", transport),
    ]
    if flags:
        headers.append(("flags", flags))
    return sendmsg("unicast", headers)


def hangup(cause: str = "NORMAL_CLEARING") -> bytes:
    if not re.fullmatch(r"^[A-Z_]+$", cause):
        raise UnsafeCommand(f"not a hangup cause: {cause!r}")
    return sendmsg("hangup", [("hangup-cause", cause)])


def api(name: str, *args: str) -> bytes:
    """`api <command> <args>`: answered by one `api/response`."""
    for arg in args:
        if not arg or any(ch.isspace() for ch in arg):
            raise UnsafeCommand(f"api argument must be one word: {arg!r}")
    return command(" ".join(["api", name, *args]))
