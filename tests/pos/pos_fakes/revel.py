"""A fake Revel: Tastypie resources, weborder cart submit, `{"status": "ERROR"}` failures."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from pos_fakes import documented
from pos_fakes.server import FakeVendor, Seen

KEY, SECRET = "revel-key", "revel-secret"
ESTABLISHMENT = 2


class FakeRevel(FakeVendor):
    name = "revel"
    page = 2

    def __init__(self) -> None:
        super().__init__()
        self.products = [
            {"id": 501, "name": "Pad Thai", "price": "11.5000", "active": True, "establishment": "/enterprise/Establishment/2/"},
            {"id": 502, "name": "Spring Rolls", "price": "5.2500", "active": True},
            {"id": 503, "name": "Tom Yum", "price": "7.0000", "active": True},
        ]
        self.links = [{"id": 1, "product": "/resources/Product/501/", "modifierclass": "/resources/ModifierClass/7/",
                       "maximum_modifier_qty": 2}]
        self.classes = [{"id": 7, "name": "Protein"}]
        self.modifiers = [{"id": 3001, "name": "Chicken", "price": "0.7500", "modifierClass": "/resources/ModifierClass/7/"},
                          {"id": 3002, "name": "Shrimp", "price": "2.0000", "modifierClass": "/resources/ModifierClass/7/"}]
        self.orders: list[dict[str, Any]] = []
        self._ids = itertools.count(9001)
        for name, rows in (("Product", lambda: self.products), ("ProductModifier", lambda: self.links),
                           ("ModifierClass", lambda: self.classes), ("Modifier", lambda: self.modifiers),
                           ("Order", lambda: self.orders)):
            self.route("GET", f"/resources/{name}/", self.tastypie(rows))
        self.route("POST", "/specialresources/cart/submit/", self.submit)

    def tastypie(self, rows):
        def handler(seen: Seen) -> Response:
            data = rows()
            if "created_date__gte" in seen.query:
                data = [o for o in data if o["created_date"] >= seen.query["created_date__gte"]]
            limit, offset = int(seen.query.get("limit", "20")), int(seen.query.get("offset", "0"))
            limit = min(limit, self.page)
            nxt = f"{seen.path}?offset={offset + limit}" if offset + limit < len(data) else None
            return JSONResponse({"meta": {"limit": limit, "offset": offset, "next": nxt, "total_count": len(data)},
                                 "objects": data[offset:offset + limit]})
        return handler

    def auth_error(self, seen: Seen) -> Response | None:
        if seen.headers.get("api-authentication") != f"{KEY}:{SECRET}":
            return HTMLResponse("<h1>403 Forbidden</h1>", status_code=403)  # HTML, as Revel does [V]
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        if seen.method == "POST" and seen.path == "/specialresources/cart/submit/":
            return documented.errors(documented.REVEL_CART, json.loads(seen.body))
        return []

    def error_response(self, status: int, message: str) -> Response:
        if status in (403, 404):
            return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
        return JSONResponse({"status": "ERROR", "errorMsg": message}, status_code=status)

    def submit(self, seen: Seen) -> Response:
        body = json.loads(seen.body)
        if body["establishmentId"] != ESTABLISHMENT:
            return JSONResponse({"status": "ERROR", "errorMsg": "Unknown establishment"})
        products = {p["id"]: p for p in self.products}
        total = Decimal(0)
        for item in body["items"]:
            p = products.get(item["product"])
            if p is None:
                return JSONResponse({"status": "ERROR", "errorMsg": f"Product {item['product']} not available"})
            unit = Decimal(str(item.get("price", p["price"])))
            for m in item.get("modifieritems", []):
                unit += Decimal(str(m["modifier_price"])) * m["qty"]
            total += unit * item["quantity"]
        order = {"id": next(self._ids), "notes": body["orderInfo"].get("notes", ""), "final_total": float(total),
                 "created_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "cart": body}
        with self.lock:
            self.orders.append(order)
        return JSONResponse({"status": "OK", "data": {"orderId": order["id"], "subtotal": float(total)}})
