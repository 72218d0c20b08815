"""The POS webhook endpoint: `POST /webhooks/{location}`.

Each location's adapter verifies the vendor's signature on the raw body; a
request that does not verify is answered 401 and changes nothing. A verified
change is applied to the CatalogStore before the answer goes out, so the
dialogues refuse an 86'd item from their next turn. Vendors retry webhooks,
so a repeated event id is acknowledged and ignored.

    app = webhook_app(store)
    server = WebhookServer(app, "127.0.0.1", 8089).start()   # its own thread
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.base import SignatureError
from agi.catalog_sync import CatalogStore

log = logging.getLogger("callticket.webhooks")

MAX_BODY = 4 * 1024 * 1024  # Toast order payloads can exceed 600 KB


class _Seen:
    """Recently handled event ids (bounded), to acknowledge vendor retries once."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


def webhook_app(store: CatalogStore, on_change=None) -> Starlette:
    seen = _Seen()

    async def receive(request: Request) -> Response:
        location = request.path_params["location"]
        adapter = store.adapter(location)
        if adapter is None:
            return JSONResponse({"error": "unknown location"}, status_code=404)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse({"error": "body too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        received = time.monotonic()
        try:
            change = await run_in_threadpool(adapter.parse_webhook, dict(request.headers), body)
        except SignatureError as exc:
            log.warning("webhook rejected", extra={"fields": {"location": location, "vendor": adapter.name,
                                                              "reason": str(exc)}})
            return JSONResponse({"error": "signature"}, status_code=401)
        if change is None:
            return JSONResponse({"ok": True, "applied": False})
        if change.event_id and not seen.first_time(f"{location}:{change.event_id}"):
            return JSONResponse({"ok": True, "applied": False, "duplicate": True})
        await run_in_threadpool(store.apply, change, location)
        log.info("catalog change", extra={"fields": {
            "location": location, "vendor": change.vendor, "event": change.event_type, "resync": change.resync,
            "changes": len(change.availability), "ms": round((time.monotonic() - received) * 1000, 1)}})
        if on_change is not None:
            on_change(location, change)
        return JSONResponse({"ok": True, "applied": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "locations": store.locations()})

    return Starlette(routes=[Route("/webhooks/{location}", receive, methods=["POST"]),
                             Route("/healthz", health, methods=["GET"])])


class WebhookServer:
    """uvicorn in a background thread (127.0.0.1 unless told otherwise; port 0 picks a free one)."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
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
