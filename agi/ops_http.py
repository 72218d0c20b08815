"""The operations side of a worker process: /metrics, /healthz and /readyz
over HTTP, and the lifecycle they report (calls in progress, ready, draining).

    life = Lifecycle(records=CallRecords.from_config(config))
    life.add_check("stt", lambda: (pool.loaded, "2 models loaded"))
    life.add_check("outbox", outbox_check(config.outbox.dsn, config.data_dir))
    server = OpsServer(config.metrics.listen, life).start()     # its own thread

    # a PBX driver, per call:
    if not life.accepting: ...answer busy...                  # a graceful stop is under way
    with life.call(call_id, pbx="asterisk", route=route, caller=number, language=lang) as call:
        ...run the call...
        call.result = {**controller.result(), "turns": turns}  # turns: heard, bot, latency_ms

    # on SIGTERM (systemd stop): refuse new calls, finish running ones
    life.drain(config.shutdown.grace_s); server.stop()

`life.call()` does the bookkeeping of one call in one place: the active-calls
gauge, calls by outcome and reply latencies (agi.metrics), the call record
(agi.records: started at once, finished with the result), and the call id on
every log line written inside (agi.logs). A failing records database is logged,
never allowed to break a call.

The stdlib HTTP server runs in a daemon thread, so it serves the same way in
the asyncio (Asterisk) and gevent (FreeSWITCH) workers; it binds to
127.0.0.1 unless the config says otherwise. It takes a thread per
connection, so at most MAX_CONNECTIONS are served at once and a request must
arrive within READ_TIMEOUT_S (refusals counted, agi.refusals). /healthz: 200 while the process
runs. /readyz: 200 when every check passes and calls are accepted, else 503,
with each check's result as JSON; a check slower than `check_timeout_s` fails.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

from agi import logs
from agi import metrics as _metrics
from agi.refusals import Reason, Refusals

log = logging.getLogger("callticket.ops")

Check = Callable[[], "tuple[bool, str] | bool"]

MAX_CONNECTIONS = 16  # a scraper and a load balancer need one or two
READ_TIMEOUT_S = 5.0


@dataclass
class CallHandle:
    """What a driver tells `Lifecycle.call()` about its call."""

    call_id: str
    pbx: str
    result: dict[str, Any] | None = None  # the simulate-shaped result, turns included
    language: str | None = None


class Lifecycle:
    """Ready / draining state, calls in progress, and each call's bookkeeping."""

    def __init__(self, check_timeout_s: float = 2.0, records: Any = None, metrics: _metrics.Metrics | None = None):
        self.check_timeout_s = check_timeout_s
        self.records = records
        self.metrics = metrics or _metrics.METRICS
        self.accepting = True
        self.started_at = time.time()
        self._checks: dict[str, Check] = {}
        self._active = 0
        self._idle = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")

    # ---------------------------------------------------------------- calls

    @property
    def active(self) -> int:
        return self._active

    @contextlib.contextmanager
    def call(self, call_id: str, *, pbx: str, route: str | None = None, caller: str | None = None,
             language: str | None = None, playbook: str | None = None, server: str = "") -> Iterator[CallHandle]:
        """Count, log, measure and record one call (see the module docstring); `server` is
        the PBX that numbered it (two PBXes may use one call id)."""
        handle = CallHandle(call_id, pbx, language=language)
        with self._idle:
            self._active += 1
        self._safely("start", lambda r: r.start(call_id, pbx=pbx, server=server, route=route, caller=caller,
                                                  language=language, playbook=playbook))
        try:
            with logs.call_context(call_id), self.metrics.track_call(pbx) as track:
                try:
                    yield handle
                finally:
                    result = handle.result or {}
                    track.outcome = result.get("outcome") or None
                    if track.outcome is None and sys.exc_info()[0] is not None:
                        track.outcome = "error"
                    self.metrics.observe_turns(result.get("turns") or [])
                    final = {**result, "outcome": track.outcome or "hung_up"}
                    language = result.get("language") or handle.language  # the call's, once it was held
                    self._safely("finish", lambda r: r.finish(call_id, final, server=server, language=language,
                                                              pbx=pbx))
                    log.info("call ended", extra={"fields": {"pbx": pbx, "route": route, "outcome": final["outcome"]}})
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _safely(self, what: str, fn: Callable[[Any], None]) -> None:
        if self.records is None:
            return
        try:
            fn(self.records)
        except Exception as exc:  # the caller is still on the line: never fail the call for a record
            log.error("call record %s failed: %s", what, exc)

    def drain(self, timeout_s: float) -> bool:
        """Refuse new calls and wait up to `timeout_s` for running ones; True if all ended."""
        self.accepting = False
        log.info("draining", extra={"fields": {"active_calls": self._active, "grace_s": timeout_s}})
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._active > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("grace period over", extra={"fields": {"active_calls": self._active}})
                    return False
                self._idle.wait(left)
        return True

    def install_sigterm(self, grace_s: float, then: Callable[[], None]) -> None:
        """SIGTERM (systemd stop): drain in a thread, then call `then` (stop the loop)."""

        def handler(signum: int, frame: Any) -> None:
            if not self.accepting:
                return
            self.accepting = False
            threading.Thread(target=lambda: (self.drain(grace_s), then()), name="drain", daemon=True).start()

        signal.signal(signal.SIGTERM, handler)

    # --------------------------------------------------------------- checks

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        futures = {name: self._pool.submit(check) for name, check in self._checks.items()}
        results: dict[str, Any] = {}
        deadline = time.monotonic() + self.check_timeout_s
        for name, fut in futures.items():
            try:
                value = fut.result(timeout=max(0.0, deadline - time.monotonic()))
                ok, detail = value if isinstance(value, tuple) else (bool(value), "")
            except FutureTimeout:
                ok, detail = False, f"no answer in {self.check_timeout_s:g}s"
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results[name] = {"ok": bool(ok), "detail": detail}
        if not self.accepting:
            results["accepting_calls"] = {"ok": False, "detail": "draining: finishing calls in progress"}
        ready = all(r["ok"] for r in results.values())
        return ready, results


class Loading:
    """A readiness check for what loads beside the calls (serve-agi's speech models): not ready until
    `done`, and not after `failed`."""

    def __init__(self, what: str):
        self._state = (False, f"{what}: loading")
        self.what = what

    def done(self, detail: str = "loaded") -> None:
        self._state = (True, detail)

    def failed(self, error: str) -> None:
        self._state = (False, f"{self.what}: {error}")

    def __call__(self) -> tuple[bool, str]:
        return self._state


class OpsServer:
    """/metrics, /healthz and /readyz over HTTP in a background thread."""

    def __init__(self, listen: Any, lifecycle: Lifecycle | None = None, metrics: _metrics.Metrics | None = None):
        host, port = (listen.host, listen.port) if hasattr(listen, "host") else listen
        self.lifecycle = lifecycle or Lifecycle()
        self.metrics = metrics or _metrics.METRICS
        server = self

        refused = Refusals("ops")

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                self.timeout = READ_TIMEOUT_S
                super().setup()

            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                server._serve(self)

            def log_error(self, format: str, *args: Any) -> None:
                if "timed out" in format:
                    refused(Reason.TOO_SLOW, self.client_address)

            def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: no access log
                pass

        self.httpd = _Bounded((host, port), Handler, refused)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> "OpsServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="ops-http", daemon=True)
        self._thread.start()
        log.info("ops endpoint listening", extra={"fields": {"url": self.url}})
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        if path == "/metrics":
            body = self.metrics.render()
            self._reply(req, 200, body, "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            doc = {"status": "ok", "uptime_s": round(time.time() - self.lifecycle.started_at, 1),
                   "active_calls": self.lifecycle.active}
            self._reply(req, 200, json.dumps(doc).encode(), "application/json")
        elif path == "/readyz":
            ready, checks = self.lifecycle.readiness()
            doc = {"status": "ready" if ready else "not ready", "checks": checks}
            self._reply(req, 200 if ready else 503, json.dumps(doc).encode(), "application/json")
        else:
            self._reply(req, 404, b'{"error": "not found"}', "application/json")

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Cache-Control", "no-store")
        req.end_headers()
        req.wfile.write(body)


class _Bounded(ThreadingHTTPServer):
    """ThreadingHTTPServer with at most MAX_CONNECTIONS threads: the rest are closed at once."""

    daemon_threads = True
    request_queue_size = 64  # a flood is refused from the accept loop, not left to the kernel's backlog

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], refused: Refusals):
        super().__init__(address, handler)
        self.refused = refused
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused(Reason.TOO_MANY, client_address)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def outbox_check(dsn: str | None, data_dir: Any, password: str | None = None, timeout_s: int = 2) -> Check:
    """A readiness check: can the outbox database be reached?"""

    def check() -> tuple[bool, str]:
        if dsn and dsn.startswith(("postgresql://", "postgres://")):
            import psycopg

            kwargs: dict[str, Any] = {"connect_timeout": timeout_s}
            if password:
                kwargs["password"] = password
            with psycopg.connect(dsn, **kwargs) as conn:
                conn.execute("SELECT 1")
            return True, "postgresql reachable"
        path = Path(dsn.removeprefix("sqlite:")) if dsn else Path(data_dir)
        directory = path if path.is_dir() else path.parent
        if directory.is_dir() and os.access(directory, os.W_OK):
            return True, f"sqlite in {directory}"
        return False, f"{directory} is not a writable directory"

    return check
