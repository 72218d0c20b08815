"""The POS webhook endpoint: `POST /webhooks/{location}`.

Each location's adapter verifies the vendor's signature on the raw body; a
request that does not verify, or names no location served here, is answered
the same 401 and changes nothing (the port does not tell which names exist).
A verified change is applied to the CatalogStore before the answer goes out,
so the dialogues refuse an 86'd item from their next turn.

This port shares its process with the live calls, so it reads little and
trusts nothing:

- the body is read in pieces and refused (413) once past `MAX_BODY`, whether
  it declares its length or comes chunked;
- a connection must deliver its whole request within `REQUEST_DEADLINE_S`,
  and at most `MAX_CONNECTIONS` are open at once (refusals are counted,
  agi.refusals);
- a signed body that is not what the vendor sends is a 400, never a 500;
- an event dated more than `max_age_s` ago (or from the future) is not
  applied, and one already handled (its id, else its body's digest) is
  acknowledged and ignored: ids live in the outbox database
  (agi.webhook_ledger), so a replay is known after a restart and after any
  number of other events;
- an older change never replaces a newer state (agi.catalog_sync).

    app = webhook_app(store, ledger=WebhookLedger("sqlite:/var/lib/callticket/outbox.sqlite3"))
    server = WebhookServer(app, "127.0.0.1", 8089).start()   # its own thread
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from enum import StrEnum
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from adapters.base import CatalogChange, MalformedWebhook, SignatureError
from agi import metrics as _metrics
from agi.catalog_sync import CatalogStore
from agi.refusals import Reason, Refusals
from agi.webhook_ledger import WebhookLedger

log = logging.getLogger("callticket.webhooks")

MAX_BODY = 4 * 1024 * 1024  # Toast order payloads can exceed 600 KB
REQUEST_DEADLINE_S = 10.0  # a vendor posts a whole event in well under a second
MAX_CONNECTIONS = 64
MAX_EVENT_AGE_S = 900.0  # older events are covered by the refresh that runs every pos.refresh_s anyway
MAX_FUTURE_S = 300.0  # clocks differ; further ahead is not a real event
MAX_ID = 128


class Result(StrEnum):
    """What became of one webhook request (`callticket_webhooks_total{result}`)."""

    APPLIED = "applied"
    IGNORED = "ignored"  # signed, but nothing this location serves
    DUPLICATE = "duplicate"
    STALE = "stale"  # dated outside the window
    OLDER = "older"  # a newer state was already in place
    SIGNATURE = "signature"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"  # the ledger's database did not answer: the vendor retries


def webhook_app(store: CatalogStore, on_change=None, *, ledger: WebhookLedger | None = None,
                max_age_s: float = MAX_EVENT_AGE_S, metrics: _metrics.Metrics | None = None) -> Starlette:
    """The endpoint; without a `ledger`, handled ids are kept in memory only (tests, one-off tools)."""
    seen = ledger or WebhookLedger("sqlite::memory:", retention_s=max_age_s + MAX_FUTURE_S)
    counts = metrics or _metrics.METRICS

    def answer(result: Result, status: int = 200, **doc: Any) -> JSONResponse:
        counts.webhook(result.value)
        headers = {"Connection": "close"} if status == 413 else None
        return JSONResponse(doc, status_code=status, headers=headers)

    async def receive(request: Request) -> Response:
        location = request.path_params["location"]
        body = await _read_body(request)
        if body is None:
            return answer(Result.TOO_LARGE, 413, error="body too large")
        adapter = store.adapter(location)
        if adapter is None:
            return answer(Result.SIGNATURE, 401, error="signature")
        received = time.monotonic()
        try:
            change = await run_in_threadpool(adapter.parse_webhook, dict(request.headers), body)
        except MalformedWebhook as exc:
            _warn("webhook malformed", location, adapter.name, exc)
            return answer(Result.MALFORMED, 400, error="malformed")
        except SignatureError as exc:
            _warn("webhook rejected", location, adapter.name, exc)
            return answer(Result.SIGNATURE, 401, error="signature")
        except Exception as exc:  # an adapter that trips on a signed body: the sender's fault, say so
            _warn("webhook malformed", location, adapter.name, exc)
            return answer(Result.MALFORMED, 400, error="malformed")
        if change is None:
            return answer(Result.IGNORED, ok=True, applied=False)
        now = time.time()
        if change.occurred_at is not None and not (-MAX_FUTURE_S <= now - change.occurred_at <= max_age_s):
            _warn("webhook outside the time window", location, adapter.name,
                  f"dated {round(now - change.occurred_at)} s ago", event=change.event_type)
            return answer(Result.STALE, ok=True, applied=False, stale=True)
        try:
            first = await run_in_threadpool(seen.first_time, location, event_key(change, body), now)
        except Exception as exc:
            log.error("webhook ledger unavailable: %s", exc, extra={"fields": {"location": location}})
            return answer(Result.UNAVAILABLE, 503, error="try again")
        if not first:
            return answer(Result.DUPLICATE, ok=True, applied=False, duplicate=True)
        try:
            applied = await run_in_threadpool(store.apply, change, location)
        except KeyError:  # the location went away meanwhile
            return answer(Result.SIGNATURE, 401, error="signature")
        log.info("catalog change", extra={"fields": {
            "location": location, "vendor": change.vendor, "event": change.event_type, "resync": applied.resync,
            "changes": len(applied.changed), "older": len(applied.older),
            "ms": round((time.monotonic() - received) * 1000, 1)}})
        if not applied.anything:
            return answer(Result.OLDER, ok=True, applied=False, older=True)
        if on_change is not None:
            on_change(location, change)
        return answer(Result.APPLIED, ok=True, applied=True)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/webhooks/{location}", receive, methods=["POST"]),
                             Route("/healthz", health, methods=["GET"])])


def event_key(change: CatalogChange, body: bytes) -> str:
    """The vendor's event id, else the digest of the signed body (a retry sends the same bytes)."""
    if change.event_id and len(change.event_id) <= MAX_ID:
        return change.event_id
    return "sha256:" + hashlib.sha256(body).hexdigest()


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it is longer than MAX_BODY (read no further)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return None
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None
    except ClientDisconnect:
        return b""
    return bytes(body)


def _warn(what: str, location: str, vendor: str, reason: object, **fields: Any) -> None:
    log.warning(what, extra={"fields": {"location": location, "vendor": vendor, "reason": str(reason)[:300],
                                        **fields}})


class _Guarded(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a connection cap and a per-request deadline.

    uvicorn waits for a request's header and body as long as the client
    likes; here a request must arrive whole within REQUEST_DEADLINE_S of the
    connection (or of the previous answer on a kept-alive one).
    """

    refusals = Refusals("webhooks")

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self.transport = transport
        self._deadline: Any = None
        if len(self.connections) >= MAX_CONNECTIONS:
            self.refusals(Reason.TOO_MANY, transport.get_extra_info("peername"))
            transport.abort()
            return
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(REQUEST_DEADLINE_S, self._too_slow)

    def _too_slow(self) -> None:
        cycle = self.cycle
        working = cycle is not None and not cycle.more_body and not cycle.response_complete
        if not working:  # still receiving, or idle between requests
            self.refusals(Reason.TOO_SLOW, self.client)
            self.transport.abort()

    def on_response_complete(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._arm()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)


class WebhookServer:
    """uvicorn in a background thread (127.0.0.1 unless told otherwise; port 0 picks a free one).

    uvicorn installs no log handler of its own: its lines go through the
    process's JSON format and secret scrubbing (agi.logs) like any other.
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                                    log_config=None, http=_Guarded, timeout_keep_alive=5))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="webhooks", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> WebhookServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("webhook server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()
