"""A dry run of an order: the adapter runs as it would, reads reach the vendor, writes do not.

    transport = DryRun("square")
    adapter = build_adapter(binding, ..., transport=transport)
    try:
        adapter.submit(ticket, key)
    except OrderNotSent:
        for request in transport.requests: print(request.method, request.url, request.body)

Reads go to the vendor, since the order names what only the vendor knows
(its catalog ids, a customer already on file): GET, and the few POSTs a
vendor uses to search or to log in. A write is recorded exactly as it would
have been sent and not sent. The adapter cannot go on after a write without
an answer, so the run stops at the first one (the order, `OrderNotSent`),
unless it is a write whose answer only lends an id to the order (a new
customer record): that one is answered with a stand-in, `STAND_IN_ID`, which
the order then carries in place of the id the vendor would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

STAND_IN_ID = "DRY-RUN"

# POSTs that change nothing at the vendor (path suffixes).
READS: dict[str, tuple[str, ...]] = {
    "square": ("/v2/customers/search", "/v2/orders/search", "/v2/inventory/counts/batch-retrieve"),
    "toast": ("/authentication/v1/authentication/login",),
}

# Writes made before the order only for an id the order names: (method, path suffix) -> stand-in answer.
STAND_INS: dict[str, dict[tuple[str, str], Any]] = {
    "square": {("POST", "/v2/customers"): {"customer": {"id": STAND_IN_ID}}},
    "clover": {("POST", "/customers"): {"id": STAND_IN_ID}},
    "loyverse": {("POST", "/customers"): {"id": STAND_IN_ID}},
    "eposnow": {("POST", "/Customer"): {"Id": 0}},  # Epos Now ids are numbers: 0 stands in
}


@dataclass(frozen=True)
class WouldSend:
    """One write of the dry run, as it would have gone to the vendor (headers left out: they hold the token)."""

    method: str
    url: str
    body: str
    stand_in: bool  # answered with a stand-in so the run could reach the order


class OrderNotSent(Exception):
    """The dry run reached a write the adapter needs a real answer to: nothing more is sent."""

    def __init__(self, request: WouldSend):
        super().__init__(f"dry run: {request.method} {request.url} not sent")
        self.request = request


class DryRun(httpx.BaseTransport):
    """An httpx transport that lets reads through to `real` and records every write instead of sending it."""

    def __init__(self, vendor: str, real: httpx.BaseTransport | None = None):
        self.vendor = vendor
        self.real = real or httpx.HTTPTransport()
        self.requests: list[WouldSend] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method in ("GET", "HEAD") or (
                request.method == "POST" and path.endswith(READS.get(self.vendor, ()))):
            return self.real.handle_request(request)
        answer = next((reply for (method, suffix), reply in STAND_INS.get(self.vendor, {}).items()
                       if method == request.method and path.endswith(suffix)), None)
        sent = WouldSend(request.method, str(request.url), request.read().decode("utf-8", "replace"),
                         answer is not None)
        self.requests.append(sent)
        if answer is None:
            raise OrderNotSent(sent)
        return httpx.Response(200, json=answer)

    def close(self) -> None:
        self.real.close()
