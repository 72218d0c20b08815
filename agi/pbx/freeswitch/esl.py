"""One outbound Event Socket connection on gevent: commands out, replies and events in.

A reader greenlet turns bytes into messages (`agi.pbx.freeswitch.wire`).
Replies (`command/reply`, `api/response`) answer commands strictly in the
order they were sent, as FreeSWITCH answers them; everything else (events,
the disconnect notice) goes to `next_event()`.

Anything wrong ends the connection, never the process: garbage or a bad
Content-Length (protocol error), a reply nobody asked for, no reply in time,
the socket closing. Every waiting command then raises `EslGone` and
`next_event()` returns None, so the call's greenlet can wind down.
"""

from __future__ import annotations

import logging
import socket as pysocket
from collections import deque

import gevent
import gevent.event
import gevent.lock
import gevent.queue

from agi.pbx.freeswitch import wire

log = logging.getLogger("callticket.freeswitch")

REPLY_TIMEOUT_S = 10.0
MAX_QUEUED_EVENTS = 20000  # a peer flooding events is dropped, not buffered forever


class EslGone(ConnectionError):
    """The Event Socket connection ended (or could not be trusted any more)."""


class EslCommandFailed(RuntimeError):
    """FreeSWITCH answered a command with -ERR."""


class EslConnection:
    def __init__(self, sock: pysocket.socket, *, reply_timeout_s: float = REPLY_TIMEOUT_S,
                 max_queued_events: int = MAX_QUEUED_EVENTS, max_header_bytes: int = wire.MAX_HEADER_BYTES,
                 max_body_bytes: int = wire.MAX_BODY_BYTES):
        self.sock = sock
        self.reply_timeout_s = reply_timeout_s
        self.max_queued_events = max_queued_events
        self.parser = wire.EslParser(max_header_bytes, max_body_bytes)
        self._pending: deque[gevent.event.AsyncResult] = deque()
        self._send_lock = gevent.lock.Semaphore()
        self._events: gevent.queue.Queue = gevent.queue.Queue()
        self.closed = gevent.event.Event()
        self.close_reason: str | None = None
        self.disconnect_notice: wire.EslMessage | None = None
        self.bytes_in = 0
        self._reader = gevent.spawn(self._read)

    # ------------------------------------------------------------ commands

    def request(self, data: bytes, timeout: float | None = None) -> wire.EslMessage:
        """Send one command block and wait for its reply."""
        if self.closed.is_set():
            raise EslGone(self.close_reason or "closed")
        result = gevent.event.AsyncResult()
        with self._send_lock:  # pending order == wire order
            self._pending.append(result)
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self._end(f"send failed: {exc}")
        try:
            return result.get(timeout=self.reply_timeout_s if timeout is None else timeout)
        except gevent.Timeout:
            # Replies are matched by order: one lost reply makes every later one suspect.
            first = data.split(b"\n", 1)[0][:40]
            self._end(f"no reply to {first!r} within {timeout or self.reply_timeout_s:.0f} s")
            raise EslGone(self.close_reason or "timeout") from None

    def command(self, data: bytes, timeout: float | None = None) -> wire.EslMessage:
        """`request`, raising `EslCommandFailed` on a `-ERR` reply."""
        reply = self.request(data, timeout)
        if not reply.ok:
            raise EslCommandFailed(reply.reply_text.strip() or "no reply text")
        return reply

    # ------------------------------------------------------------ events

    def next_event(self, timeout: float | None = None) -> wire.EslMessage | None:
        """The next event or disconnect notice; None once the connection is over.

        Raises gevent.queue.Empty when `timeout` passes first.
        """
        item = self._events.get(timeout=timeout)
        if item is None:
            self._events.put(None)  # every later reader sees the end too
        return item

    # ------------------------------------------------------------ lifetime

    def close(self, reason: str = "closed by the worker") -> None:
        self._end(reason)
        if gevent.getcurrent() is not self._reader:
            self._reader.kill(block=False)

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    tail = self.parser.buffered
                    self._end("socket closed by FreeSWITCH" + (f" ({tail} bytes of a truncated message)" if tail else ""))
                    return
                self.bytes_in += len(data)
                for message in self.parser.feed(data):
                    self._route(message)
        except wire.EslProtocolError as exc:
            self._end(f"protocol error: {exc}")
        except OSError as exc:
            self._end(f"socket error: {exc}")

    def _route(self, message: wire.EslMessage) -> None:
        ctype = message.content_type
        if ctype in wire.REPLY_TYPES:
            if not self._pending:
                raise wire.EslProtocolError(f"a {ctype} that answers no command")
            self._pending.popleft().set(message)
        elif ctype in (wire.AUTH_REQUEST, wire.RUDE_REJECTION):
            raise wire.EslProtocolError(f"{ctype} on an outbound socket")
        else:
            if ctype == wire.DISCONNECT_NOTICE:
                self.disconnect_notice = message
            if self._events.qsize() >= self.max_queued_events:
                raise wire.EslProtocolError(f"more than {self.max_queued_events} events waiting")
            self._events.put(message)

    def _end(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        gone = EslGone(reason)
        while self._pending:
            self._pending.popleft().set_exception(gone)
        self._events.put(None)
        try:
            # shutdown first: the FIN leaves now, even while the reader still waits on the socket
            self.sock.shutdown(pysocket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        log.debug("event socket closed", extra={"fields": {"reason": reason}})
