"""FastAGI: Asterisk's call-control channel, served with panoramisk.

`AGI(agi://127.0.0.1:4573/pizzeria,language=es)` in the dialplan opens a TCP
connection, sends the `agi_*` variables (one `key: value` line each, ended by
an empty line), then waits for commands (`EXEC AudioSocket ...`, `SET
VARIABLE ...`), answering each with `200 result=...`. When the caller hangs
up, Asterisk sends a lone `HANGUP` line.

panoramisk's `Application` keeps the route table; its connection handler is
replaced here because a connection that closes early, sends garbage or an
endless header must end that one session at once instead of spinning.

Strangers cannot crowd out calls: a connection that has not yet sent a
valid header waits within a small budget of its own and a short deadline
(agi.pbx.admission), and every refusal is logged and counted
(agi.refusals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from panoramisk.fast_agi import Application, Request

from agi.pbx.admission import WAITING_LIMIT, Admission
from agi.refusals import Reason, Refusals

log = logging.getLogger("callticket.fastagi")

MAX_HEADER_LINES = 128
MAX_LINE = 2048  # also the StreamReader limit: a longer line ends the session
HEADER_TIMEOUT_S = 3.0  # Asterisk sends the header as soon as it connects
COMMAND_TIMEOUT_S = 10.0
_HEADER_LINE = re.compile(r"^(agi_[a-z0-9_]+): ?(.*)$")
_RESULT = re.compile(r"^(\d{3})(?: |$)(.*)$")
_KV = re.compile(r"(\w+)=(\S*)(?:\s+\((.*?)\))?")


class AgiHeaderError(Exception):
    """The connection did not start with a valid agi_* header block."""


class AgiHangup(Exception):
    """The channel is gone (HANGUP notice, 511 on a dead channel, or EOF)."""


class AgiCommandError(Exception):
    """Asterisk refused a command (510, 520)."""


@dataclass(frozen=True, slots=True)
class AgiResult:
    code: int
    result: str = ""
    data: str | None = None  # the "(...)" after result=
    extra: dict[str, str] = field(default_factory=dict)
    line: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200 and self.result != "-1"


def parse_result(line: str) -> AgiResult:
    """`200 result=1 (42) endpos=1234` -> AgiResult(200, '1', '42', {'endpos': '1234'})."""
    m = _RESULT.match(line)
    if not m:
        raise AgiCommandError(f"unexpected reply {line[:80]!r}")
    code, rest = int(m.group(1)), m.group(2)
    result, data, extra = "", None, {}
    for key, value, paren in _KV.findall(rest):
        if key == "result":
            result, data = value, paren or None
        else:
            extra[key] = value
    if code == 200 and data is None:
        # GET VARIABLE's "(value)" may hold spaces that _KV split off
        pm = re.search(r"result=\S*\s+\((.*)\)", rest)
        data = pm.group(1) if pm else None
    return AgiResult(code, result, data, extra, line)


def parse_header_block(lines: list[str]) -> dict[str, str]:
    """The agi_* variables; AgiHeaderError on anything that is not one."""
    env: dict[str, str] = {}
    for line in lines:
        m = _HEADER_LINE.match(line)
        if not m:
            raise AgiHeaderError(f"not an AGI variable: {line[:60]!r}")
        env[m.group(1)] = m.group(2)
    if "agi_request" not in env and "agi_network_script" not in env:
        raise AgiHeaderError("no agi_request in the header block")
    return env


async def read_header(reader: asyncio.StreamReader, timeout: float | None = None) -> dict[str, str]:
    """Read the header block within `timeout` (default HEADER_TIMEOUT_S), at most MAX_HEADER_LINES lines."""
    timeout = HEADER_TIMEOUT_S if timeout is None else timeout

    async def _read() -> dict[str, str]:
        lines: list[str] = []
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                raise AgiHeaderError("connection closed before the end of the header") from None
            except asyncio.LimitOverrunError:
                raise AgiHeaderError("header line too long") from None
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise AgiHeaderError("header is not UTF-8 text") from None
            if line == "":
                return parse_header_block(lines)
            lines.append(line)
            if len(lines) > MAX_HEADER_LINES:
                raise AgiHeaderError(f"more than {MAX_HEADER_LINES} header lines")

    try:
        return await asyncio.wait_for(_read(), timeout)
    except asyncio.TimeoutError:
        raise AgiHeaderError(f"no complete header within {timeout:g} s") from None


def route_of(env: dict[str, str]) -> str:
    """The route name: 'pizzeria' from agi://host:port/pizzeria."""
    script = env.get("agi_network_script") or env.get("agi_request", "").rsplit("/", 1)[-1]
    return script.strip("/").split("?", 1)[0]


def agi_args(env: dict[str, str]) -> list[str]:
    """AGI(url,a,b) arguments in order (agi_arg_1, agi_arg_2, ...)."""
    out = []
    i = 1
    while f"agi_arg_{i}" in env:
        out.append(env[f"agi_arg_{i}"])
        i += 1
    return out


def quote(value: str) -> str:
    """An AGI command argument: double-quoted, no line breaks, inner quotes escaped."""
    clean = "".join(ch if ch.isprintable() else " " for ch in value)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel(Request):
    """One FastAGI session: the agi_* variables and the command channel."""

    def __init__(self, app: Application, headers: dict[str, str], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        super().__init__(app, headers, reader, writer)
        self.hungup = False
        self._lock = asyncio.Lock()

    @property
    def route(self) -> str:
        return route_of(self.headers)

    @property
    def args(self) -> list[str]:
        return agi_args(self.headers)

    async def command(self, command: str, timeout: float | None = COMMAND_TIMEOUT_S) -> AgiResult:
        """Send one command and read its reply. `timeout=None` for EXEC of long applications."""
        if "\n" in command or "\r" in command:
            raise ValueError("an AGI command is one line")
        async with self._lock:
            if self.writer.is_closing():
                raise AgiHangup("connection closed")
            try:
                self.writer.write(command.encode(self.encoding) + b"\n")
                await self.writer.drain()
                if timeout is None:
                    result = await self._read_reply()
                else:
                    result = await asyncio.wait_for(self._read_reply(), timeout)
            except asyncio.TimeoutError:  # first: on Python 3.11 it is an OSError too, and no reply is no hang-up
                raise AgiCommandError(f"no reply to {command.split(' ', 2)[:2]} within {timeout} s") from None
            except (ConnectionError, OSError) as exc:
                self.hungup = True
                raise AgiHangup(str(exc)) from None
        if result.code == 511:
            self.hungup = True
            raise AgiHangup(result.line)
        if result.code in (510, 520):
            raise AgiCommandError(f"{command.split(' ', 1)[0]}: {result.line}")
        return result

    async def send_command(self, command: str) -> dict[str, object]:  # panoramisk's API
        r = await self.command(command)
        return {"status_code": r.code, "result": (r.result, r.data or ""), "msg": r.line}

    async def _read_reply(self) -> AgiResult:
        while True:
            line = await self._readline()
            if line == "HANGUP":  # asynchronous notice; the reply still follows
                self.hungup = True
                continue
            if line.startswith("520-"):  # multi-line usage text until "520 End of proper usage."
                while not (await self._readline()).startswith("520 "):
                    pass
                return AgiResult(520, line=line)
            r = parse_result(line)
            if r.code == 100:  # "100 result=0 Trying..." precedes the real reply
                continue
            return r

    async def _readline(self) -> str:
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            self.hungup = True
            raise AgiHangup("connection closed") from None
        except asyncio.LimitOverrunError:
            raise AgiCommandError("reply line too long") from None
        return raw.decode(self.encoding, "replace").rstrip("\r\n")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)


Handler = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer(Application):
    """Routes FastAGI sessions by name; survives any bytes a client sends.

    `max_calls` bounds the sessions handled at once; beyond it the `busy`
    handler runs instead (a short prompt, then back to the dialplan). Up to
    twice that (plus room for the busy prompts) may have sent their header;
    `waiting_limit` connections more may be waiting to send one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 4573, *, max_calls: int = 50, busy: Handler | None = None,
                 waiting_limit: int = WAITING_LIMIT):
        # panoramisk keeps a loop it never uses; asking for "the current one" fails in a thread
        # where an event loop has already run and ended (a worker built after asyncio.run()).
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            loop.close()
        super().__init__(loop=loop)
        self.host = host
        self.port = port
        self.max_calls = max_calls
        self.busy = busy
        self.active = 0
        self.rejected = 0
        self.admission: Admission[asyncio.Task[None]] = Admission(max_calls * 2 + 16, waiting_limit)
        self.refused = Refusals("fastagi")
        self._evicted: set[asyncio.Task[None]] = set()
        self._closing = False
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add_route(self, path: str, endpoint: Handler) -> None:  # type: ignore[override]
        super().add_route(path, endpoint)

    def route_for(self, name: str) -> Handler | None:
        return self._route.get(name) or self._route.get("*")

    async def start(self) -> None:
        self._server = await asyncio.start_server(self.handler, self.host, self.port, limit=MAX_LINE)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:  # type: ignore[override]
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        evict = self.admission.arrive(task)
        if evict is not None:  # the oldest stranger makes room; a PBX sends its header at once
            self.rejected += 1
            self.refused(Reason.EVICTED, detail="waiting connections over their budget")
            self._evicted.add(evict)
            evict.cancel()
        try:
            await self._session(reader, writer)
        except asyncio.CancelledError:
            if not (self._closing or task in self._evicted):
                raise
        finally:
            self.admission.leave(task)
            self._evicted.discard(task)
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await read_header(reader)
        except AgiHeaderError as exc:
            self.rejected += 1
            self.refused(Reason.NO_HEADER, peer, str(exc))
            return
        except (ConnectionError, OSError):
            self.rejected += 1
            return
        task = asyncio.current_task()
        assert task is not None
        if not self.admission.identified(task):
            self.rejected += 1
            self.refused(Reason.TOO_MANY, peer, f"{self.admission.session_limit} sessions at once")
            return
        channel = AgiChannel(self, env, reader, writer)
        endpoint = self.route_for(channel.route)
        if endpoint is None:
            log.warning("fastagi: no route for %r", channel.route)
            with contextlib.suppress(AgiHangup, AgiCommandError):
                await channel.command("SET VARIABLE CALLTICKET_STATUS NOROUTE")
            return
        if self.active >= self.max_calls:
            if self.busy is not None:
                with contextlib.suppress(AgiHangup, AgiCommandError, asyncio.TimeoutError):
                    await self.busy(channel)
            return
        self.active += 1
        try:
            await endpoint(channel)
        except AgiHangup:
            log.debug("fastagi %s: caller hung up", channel.route)
        except AgiCommandError as exc:  # garbage or no reply where a reply was due
            log.warning("fastagi %s: %s; ending the session", channel.route, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("fastagi route %r failed", channel.route)
        finally:
            self.active -= 1
