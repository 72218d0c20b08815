"""The flaky POS of `callticket bench outbox`: Loyverse-shaped, no server-side dedupe.

Every request (writes and reads alike) fails with probability `fault_rate`,
split evenly between a 429 with Retry-After, a 5xx and a timeout. Half of the
5xx and timeouts happen *after* the receipt was created, the case where a
blind retry makes a duplicate. The server counts every receipt it creates, so
the benchmark can count duplicates and losses from the POS's side.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "bench-token"
STORE = "bench-store"
PAY_LATER = "pay-later"
VARIANTS = {f"va-{n}": Decimal(n + 3) + Decimal("0.25") for n in range(8)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FlakyPos:
    def __init__(self, fault_rate: float = 0.3, timeout_s: float = 0.75, seed: int = 1):
        self.fault_rate = fault_rate
        self.timeout_s = timeout_s
        self.rng = random.Random(seed)
        self.receipts: list[dict] = []
        self.by_order: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.requests = 0
        self.available = dict.fromkeys(VARIANTS, True)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/receipts", self.create, methods=["POST"]),
            Route("/receipts", self.list, methods=["GET"]),
            Route("/items", self.items, methods=["GET"]),
            Route("/modifiers", lambda r: JSONResponse({"modifiers": []}), methods=["GET"]),
            Route("/customers", lambda r: JSONResponse({"customers": []}), methods=["GET"]),
        ])
        self._server: uvicorn.Server | None = None

    # ------------------------------------------------------------ faults

    def _fault(self) -> tuple[str | None, bool]:
        """(kind, after): which failure this request gets, and whether it lands after the write."""
        with self._lock:
            self.requests += 1
            if self.rng.random() >= self.fault_rate:
                return None, False
            kind = self.rng.choice(("429", "5xx", "timeout"))
            after = kind != "429" and self.rng.random() < 0.5
            self.faults[kind] += 1
            return kind, after

    async def _fail(self, kind: str) -> Response:
        if kind == "429":
            return JSONResponse({"errors": [{"code": "RATE_LIMITED", "details": "slow down"}]}, status_code=429,
                                headers={"Retry-After": "1"})
        if kind == "timeout":
            await asyncio.sleep(self.timeout_s)
            return JSONResponse({"errors": [{"code": "INTERNAL_SERVER_ERROR", "details": "late"}]}, status_code=504)
        return JSONResponse({"errors": [{"code": "INTERNAL_SERVER_ERROR", "details": "oops"}]}, status_code=503)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    # ---------------------------------------------------------- handlers

    async def create(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"errors": [{"code": "UNAUTHORIZED"}]}, status_code=401)
        kind, after = self._fault()
        if kind and not after:
            return await self._fail(kind)
        body = await request.json()
        total = sum((Decimal(str(li["price"])) * li["quantity"] for li in body["line_items"]), Decimal(0))
        with self._lock:
            receipt = {"receipt_number": f"1-{next(self._numbers)}", "receipt_type": "SALE", "order": body["order"],
                       "total_money": float(total), "created_at": _now(), "line_items": []}
            self.receipts.append(receipt)
            self.by_order[body["order"]] += 1
        if kind:
            return await self._fail(kind)
        return JSONResponse(receipt)

    async def list(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"errors": [{"code": "UNAUTHORIZED"}]}, status_code=401)
        kind, _ = self._fault()
        if kind:
            return await self._fail(kind)
        since = request.query_params.get("created_at_min", "")
        start = int(request.query_params.get("cursor", "0"))
        limit = int(request.query_params.get("limit", "250"))
        with self._lock:
            rows = [r for r in self.receipts if r["created_at"] >= since]
        body: dict = {"receipts": rows[start:start + limit]}
        if start + limit < len(rows):
            body["cursor"] = str(start + limit)
        return JSONResponse(body)

    async def items(self, request: Request) -> Response:
        return JSONResponse({"items": [
            {"id": f"it-{vid}", "item_name": f"Dish {vid}", "track_stock": False, "modifier_ids": [],
             "variants": [{"variant_id": vid, "default_price": float(price), "stores": [
                 {"store_id": STORE, "pricing_type": "FIXED", "price": float(price),
                  "available_for_sale": self.available[vid]}]}]}
            for vid, price in VARIANTS.items()]})

    # ------------------------------------------------------------ server

    def start(self) -> str:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="error", lifespan="off",
                                                     access_log=False, backlog=512))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            self._thread.join(5)
            self._sock.close()
