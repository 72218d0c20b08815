"""A fake Clover: no server-side dedupe, cents everywhere, no line quantity."""

from __future__ import annotations

import itertools
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from pos_fakes import documented
from pos_fakes.server import FakeVendor, Seen

TOKEN = "clover-token"
MERCHANT = "MERCH1"


def _page(elements: list[dict], seen: Seen) -> Response:
    limit = int(seen.query.get("limit", "100"))
    offset = int(seen.query.get("offset", "0"))
    return JSONResponse({"elements": elements[offset:offset + limit], "href": seen.path})


class FakeClover(FakeVendor):
    name = "clover"

    def __init__(self) -> None:
        super().__init__()
        toppings = {"id": "MG-TOP", "name": "Toppings", "minRequired": 0, "maxAllowed": 3, "modifiers": {"elements": [
            {"id": "MOD-OLIVE", "name": "Olives", "price": 75, "available": True},
            {"id": "MOD-ANCHOVY", "name": "Anchovies", "price": 125, "available": False}]}}
        self.groups = [toppings]
        self.items = [
            {"id": "IT-PIZZA", "name": "Margherita", "price": 1150, "priceType": "FIXED", "hidden": False,
             "available": True, "autoManage": False, "modifierGroups": {"elements": [{"id": "MG-TOP"}]}},
            {"id": "IT-COLA", "name": "Cola", "price": 199, "priceType": "FIXED", "hidden": False,
             "available": True, "autoManage": True, "itemStock": {"quantity": 0}},
            {"id": "IT-WATER", "name": "Water", "price": 100, "priceType": "FIXED", "hidden": False,
             "available": True, "autoManage": True, "itemStock": {"quantity": 20}},
            {"id": "IT-SECRET", "name": "Staff Soda", "price": 0, "priceType": "FIXED", "hidden": True},
            {"id": "IT-OPEN", "name": "Open Food", "price": 0, "priceType": "VARIABLE", "hidden": False},
        ]
        self.order_types = [{"id": "OT-DINE", "label": "Dine In"}, {"id": "OT-PHONE", "label": "Phone Pickup"},
                            {"id": "OT-PHDEL", "label": "Phone Delivery"}]
        self.customers: list[dict] = []
        self.orders: dict[str, dict] = {}
        self._ids = itertools.count(1)
        m = f"/v3/merchants/{MERCHANT}"
        self.route("GET", f"{m}/items", lambda s: _page(self.items, s))
        self.route("GET", f"{m}/modifier_groups", lambda s: _page(self.groups, s))
        self.route("GET", f"{m}/order_types", lambda s: _page(self.order_types, s))
        self.route("GET", f"{m}/customers", self.customer_search)
        self.route("POST", f"{m}/customers", self.customer_create)
        self.route("POST", f"{m}/atomic_order/orders", self.create)
        self.route("GET", f"{m}/orders", self.list_orders)
        self.route("DELETE", f"{m}/orders/{{oid}}", self.delete)

    def auth_error(self, seen: Seen) -> Response | None:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        if seen.method == "POST" and seen.path.endswith("/atomic_order/orders"):
            return documented.errors(documented.CLOVER_ATOMIC_ORDER, seen.json())
        if seen.method == "POST" and seen.path.endswith("/customers"):
            return documented.errors(documented.CLOVER_CUSTOMER, seen.json())
        return []

    def customer_search(self, seen: Seen) -> Response:
        flt = seen.query.get("filter", "")
        phone = flt.split("=", 1)[1] if flt.startswith("phoneNumber=") else None
        found = [c for c in self.customers if any(p["phoneNumber"] == phone for p in c["phoneNumbers"]["elements"])]
        return JSONResponse({"elements": found})

    def customer_create(self, seen: Seen) -> Response:
        body = seen.json()
        c = {"id": f"CUST{next(self._ids)}", "firstName": body.get("firstName"), "lastName": body.get("lastName"),
             "phoneNumbers": {"elements": body.get("phoneNumbers", [])}}
        self.customers.append(c)
        return JSONResponse(c)

    def create(self, seen: Seen) -> Response:
        cart = seen.json()["orderCart"]
        items = {i["id"]: i for i in self.items}
        mods = {m["id"]: m for g in self.groups for m in g["modifiers"]["elements"]}
        total = 0
        for li in cart["lineItems"]:
            item = items.get(li["item"]["id"])
            if item is None:
                return JSONResponse({"message": f"Invalid item id {li['item']['id']}"}, status_code=400)
            total += item["price"]
            for m in li.get("modifications", []):
                mod = mods.get(m["modifier"]["id"])
                if mod is None:
                    return JSONResponse({"message": "Invalid modifier"}, status_code=400)
                total += m.get("amount", mod["price"])
        if "orderType" in cart and cart["orderType"]["id"] not in {t["id"] for t in self.order_types}:
            return JSONResponse({"message": "Invalid order type"}, status_code=400)
        oid = f"ORD{next(self._ids):05d}"
        order = {"id": oid, "currency": "USD", "total": total, "state": "open", "note": cart.get("note"),
                 "orderType": cart.get("orderType"), "createdTime": int(time.time() * 1000),
                 "lineItems": {"elements": cart["lineItems"]}}
        for field in ("title", "externalReferenceId"):
            if field in cart:
                order[field] = cart[field]
        with self.lock:
            self.orders[oid] = order
        return JSONResponse(order)

    def list_orders(self, seen: Seen) -> Response:
        flt = seen.query.get("filter", "")
        since = int(flt.split(">=", 1)[1]) if flt.startswith("createdTime>=") else 0
        found = [o for o in self.orders.values() if o["createdTime"] >= since]
        return _page(found, seen)

    def delete(self, seen: Seen, oid: str) -> Response:
        if self.orders.pop(oid, None) is None:
            return JSONResponse({"message": "Not found"}, status_code=404)
        return JSONResponse({})

    def created(self) -> list[dict[str, Any]]:
        return list(self.orders.values())
