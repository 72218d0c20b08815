"""A fake Loyverse: receipts are completed sales, decimals, no server dedupe."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

from pos_fakes import documented
from pos_fakes.server import FakeVendor, Seen

TOKEN = "loyverse-token"
STORE = "5f0c3b5e-0000-4000-8000-00000000s001"
OTHER_STORE = "5f0c3b5e-0000-4000-8000-00000000s002"
PAY_LATER = "a0a0a0a0-0000-4000-8000-0000000000p1"


def _err(status: int, code: str, details: str, field: str | None = None) -> Response:
    e = {"code": code, "details": details}
    if field:
        e["field"] = field
    return JSONResponse({"errors": [e]}, status_code=status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _store(price: float | None, available: bool = True, store: str = STORE) -> dict:
    return {"store_id": store, "pricing_type": "FIXED", "price": price, "available_for_sale": available}


class FakeLoyverse(FakeVendor):
    name = "loyverse"
    page = 2

    def __init__(self) -> None:
        super().__init__()
        self.items = [
            {"id": "it-taco", "item_name": "Taco", "track_stock": False, "modifier_ids": ["md-salsa"],
             "variants": [{"variant_id": "va-taco-beef", "option1_value": "Beef", "default_price": 3.5,
                           "stores": [_store(3.5)]},
                          {"variant_id": "va-taco-fish", "option1_value": "Fish", "default_price": 4.25,
                           "stores": [_store(4.25, available=False)]}]},
            {"id": "it-horchata", "item_name": "Horchata", "track_stock": True, "modifier_ids": [],
             "variants": [{"variant_id": "va-horchata", "default_price": 2.75, "stores": [_store(2.75)]}]},
            {"id": "it-flan", "item_name": "Flan", "track_stock": True, "modifier_ids": [],
             "variants": [{"variant_id": "va-flan", "default_price": 3.0, "stores": [_store(3.0)]}]},
            {"id": "it-elsewhere", "item_name": "Pozole", "track_stock": False, "modifier_ids": [],
             "variants": [{"variant_id": "va-pozole", "default_price": 9.0,
                           "stores": [_store(9.0, store=OTHER_STORE)]}]},
        ]
        self.modifiers = [{"id": "md-salsa", "name": "Salsa", "position": 1, "stores": [],
                           "modifier_options": [{"id": "mo-verde", "name": "Verde", "price": 0.5, "position": 1},
                                                {"id": "mo-roja", "name": "Roja", "price": 0.35, "position": 2}]}]
        self.inventory = {"va-horchata": 10, "va-flan": 0}
        self.customers: list[dict] = []
        self.receipts: list[dict] = []
        self._numbers = itertools.count(1001)
        self.route("GET", "/items", lambda s: self._paged(self.items, "items", s))
        self.route("GET", "/modifiers", lambda s: self._paged(self.modifiers, "modifiers", s))
        self.route("GET", "/inventory", self.inventory_levels)
        self.route("GET", "/customers", lambda s: self._paged(self.customers, "customers", s))
        self.route("POST", "/customers", self.customer_create)
        self.route("POST", "/receipts", self.receipt_create)
        self.route("GET", "/receipts", self.receipt_list)
        self.route("POST", "/receipts/{number}/refund", self.refund)

    def auth_error(self, seen: Seen) -> Response | None:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return _err(401, "UNAUTHORIZED", "The access token is invalid")
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        if seen.method == "POST" and seen.path == "/receipts":
            return documented.errors(documented.LOYVERSE_RECEIPT, seen.json())
        if seen.method == "POST" and seen.path == "/customers":
            return documented.errors(documented.LOYVERSE_CUSTOMER, seen.json())
        return []

    def error_response(self, status: int, message: str) -> Response:
        code = {429: "RATE_LIMITED", 500: "INTERNAL_SERVER_ERROR", 404: "NOT_FOUND"}.get(status, "BAD_REQUEST")
        return _err(status, code, message)

    def _paged(self, rows: list[dict], key: str, seen: Seen) -> Response:
        start = int(seen.query.get("cursor", "0"))
        body: dict[str, Any] = {key: rows[start:start + self.page]}
        if start + self.page < len(rows):
            body["cursor"] = str(start + self.page)
        return JSONResponse(body)

    def inventory_levels(self, seen: Seen) -> Response:
        wanted = seen.query.get("variant_ids", "").split(",")
        return JSONResponse({"inventory_levels": [
            {"variant_id": v, "store_id": STORE, "in_stock": n, "updated_at": _now()}
            for v, n in self.inventory.items() if v in wanted]})

    def customer_create(self, seen: Seen) -> Response:
        c = {**seen.json(), "id": str(uuid.uuid4())}
        self.customers.append(c)
        return JSONResponse(c)

    def receipt_create(self, seen: Seen) -> Response:
        body = seen.json()
        if body["store_id"] != STORE:
            return _err(404, "NOT_FOUND", "store not found", "store_id")
        variants = {v["variant_id"]: v for i in self.items for v in i["variants"]}
        options = {o["id"]: o for m in self.modifiers for o in m["modifier_options"]}
        total = Decimal(0)
        lines = []
        for n, li in enumerate(body["line_items"]):
            v = variants.get(li["variant_id"])
            if v is None:
                return _err(404, "NOT_FOUND", "variant not found", f"object.line_items[{n}].variant_id")
            price = Decimal(str(li.get("price", v["default_price"])))
            unit = price + sum((Decimal(str(options[m["modifier_option_id"]]["price"]))
                                for m in li.get("line_modifiers", [])), Decimal(0))
            total += unit * Decimal(str(li["quantity"]))
            lines.append({**li, "id": str(uuid.uuid4())})
        paid = sum((Decimal(str(p["money_amount"])) for p in body["payments"]), Decimal(0))
        if paid != total:
            return _err(400, "INVALID_VALUE", f"payments ({paid}) do not match the total ({total})",
                        "object.payments[0].money_amount")
        r = {**body, "receipt_number": f"1-{next(self._numbers)}", "receipt_type": "SALE",
             "total_money": float(total), "line_items": lines, "created_at": _now(), "receipt_date": _now(),
             "cancelled_at": None}
        with self.lock:
            self.receipts.append(r)
        return JSONResponse(r)

    def receipt_list(self, seen: Seen) -> Response:
        since = seen.query.get("created_at_min")
        rows = [r for r in self.receipts if since is None or r["created_at"] >= since]
        return self._paged(rows, "receipts", seen)

    def refund(self, seen: Seen, number: str) -> Response:
        r = next((r for r in self.receipts if r["receipt_number"] == number), None)
        if r is None:
            return _err(404, "NOT_FOUND", "receipt not found")
        refund = {"receipt_number": f"{number}-R", "receipt_type": "REFUND", "refund_for": number,
                  "line_items": seen.json().get("line_items", [])}
        self.receipts.append(refund)
        return JSONResponse(refund)

    def sales(self) -> list[dict]:
        return [r for r in self.receipts if r["receipt_type"] == "SALE"]
