"""A fake Square: the official OpenAPI spec checks every request body and query."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from pos_fakes import spec
from pos_fakes.server import FakeVendor, Seen

TOKEN = "sq-test-token"
LOCATION = "L1"


def _err(status: int, category: str, code: str, detail: str, field: str | None = None) -> Response:
    e = {"category": category, "code": code, "detail": detail}
    if field:
        e["field"] = field
    return JSONResponse({"errors": [e]}, status_code=status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def variation(vid: str, item_id: str, name: str, cents: int, *, sold_out: bool = False, track: bool = False,
              ordinal: int = 0, version: int = 5) -> dict:
    data: dict[str, Any] = {"item_id": item_id, "name": name, "ordinal": ordinal, "pricing_type": "FIXED_PRICING",
                            "price_money": {"amount": cents, "currency": "USD"}, "track_inventory": track}
    if sold_out:
        data["location_overrides"] = [{"location_id": LOCATION, "sold_out": True}]
    return {"type": "ITEM_VARIATION", "id": vid, "version": version, "present_at_all_locations": True,
            "item_variation_data": data}


def default_catalog() -> list[dict]:
    """A small pizzeria: sizes as variations, toppings as a modifier list, one 86'd topping."""
    return [
        {"type": "ITEM", "id": "PIZZA", "version": 7, "present_at_all_locations": True,
         "item_data": {"name": "Pepperoni Pizza", "variations": [
             variation("PIZZA-S", "PIZZA", "Small", 1099, ordinal=0),
             variation("PIZZA-L", "PIZZA", "Large", 1599, ordinal=1)],
             "modifier_list_info": [{"modifier_list_id": "TOPPINGS", "min_selected_modifiers": -1,
                                     "max_selected_modifiers": 3, "enabled": True}]}},
        {"type": "ITEM", "id": "SODA", "version": 3, "present_at_all_locations": True,
         "item_data": {"name": "Soda", "variations": [variation("SODA-R", "SODA", "Regular", 250, track=True)]}},
        {"type": "ITEM", "id": "SALAD", "version": 3, "present_at_all_locations": False,
         "present_at_location_ids": ["L2"],
         "item_data": {"name": "Salad", "variations": [variation("SALAD-R", "SALAD", "Regular", 800)]}},
        {"type": "ITEM", "id": "HAIRCUT", "version": 9, "present_at_all_locations": True,
         "item_data": {"name": "Men's Haircut", "product_type": "APPOINTMENTS_SERVICE", "variations": [
             variation("HAIRCUT-30", "HAIRCUT", "30 min", 3500, version=11)]}},
        {"type": "MODIFIER_LIST", "id": "TOPPINGS", "version": 4, "present_at_all_locations": True,
         "modifier_list_data": {"name": "Toppings", "selection_type": "MULTIPLE", "modifiers": [
             {"type": "MODIFIER", "id": "MUSHROOM", "version": 4, "present_at_all_locations": True,
              "modifier_data": {"name": "Mushrooms", "price_money": {"amount": 100, "currency": "USD"},
                                "modifier_list_id": "TOPPINGS"}},
             {"type": "MODIFIER", "id": "ONION", "version": 4, "present_at_all_locations": True,
              "modifier_data": {"name": "Onions", "price_money": {"amount": 75, "currency": "USD"},
                                "modifier_list_id": "TOPPINGS"}},
             {"type": "MODIFIER", "id": "JALAPENO", "version": 4, "present_at_all_locations": True,
              "modifier_data": {"name": "Jalapenos", "price_money": {"amount": 90, "currency": "USD"},
                                "modifier_list_id": "TOPPINGS",
                                "location_overrides": [{"location_id": LOCATION, "sold_out": True}]}}]}},
    ]


class FakeSquare(FakeVendor):
    name = "square"
    page_size = 2  # small, so the adapter must follow cursors

    def __init__(self) -> None:
        super().__init__()
        self.objects = default_catalog()
        self.stock = {"SODA-R": "12"}
        self.customers: list[dict] = []
        self.orders: dict[str, dict] = {}
        self.bookings: dict[str, dict] = {}
        self.team = [{"team_member_id": "TM-MARCO", "display_name": "Marco", "is_bookable": True},
                     {"team_member_id": "TM-ANA", "display_name": "Ana", "is_bookable": True}]
        self.replays: dict[tuple[str, str], tuple[str, Response]] = {}
        self._ids = itertools.count(1)
        self.route("GET", "/v2/catalog/list", self.catalog_list)
        self.route("GET", "/v2/catalog/object/{oid}", self.catalog_object)
        self.route("POST", "/v2/inventory/counts/batch-retrieve", self.inventory)
        self.route("POST", "/v2/customers/search", self.customer_search)
        self.route("POST", "/v2/customers", self.customer_create)
        self.route("POST", "/v2/orders", self.order_create)
        self.route("POST", "/v2/orders/search", self.order_search)
        self.route("GET", "/v2/orders/{oid}", self.order_get)
        self.route("PUT", "/v2/orders/{oid}", self.order_update)
        self.route("GET", "/v2/bookings/team-member-booking-profiles", self.team_profiles)
        self.route("POST", "/v2/bookings", self.booking_create)

    # --------------------------------------------------------- contract

    def auth_error(self, seen: Seen) -> Response | None:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return _err(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized.")
        if seen.headers.get("square-version") != "2025-08-20":
            return _err(400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT", "bad Square-Version")
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        return spec.square().errors(seen.method, seen.path, seen.query, seen.headers, seen.body)

    def error_response(self, status: int, message: str) -> Response:
        category = {429: "RATE_LIMIT_ERROR", 401: "AUTHENTICATION_ERROR"}.get(
            status, "API_ERROR" if status >= 500 else "INVALID_REQUEST_ERROR")
        code = {429: "RATE_LIMITED", 404: "NOT_FOUND", 500: "INTERNAL_SERVER_ERROR"}.get(status, "INVALID_VALUE")
        return _err(status, category, code, message)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _replay(self, seen: Seen, scope: str, key: str | None, make) -> Response:
        """Square: same key + same request -> the first response; same key + other request -> error."""
        if not key:
            return make()
        digest = hashlib.sha256(seen.body.replace(b" ", b"")).hexdigest()
        with self.lock:
            prior = self.replays.get((scope, key))
        if prior is not None:
            if prior[0] != digest:
                return _err(400, "INVALID_REQUEST_ERROR", "IDEMPOTENCY_KEY_REUSED",
                            "idempotency key already used with a different request")
            return prior[1]
        response = make()
        if response.status_code == 200:
            with self.lock:
                self.replays[(scope, key)] = (digest, response)
        return response

    # ---------------------------------------------------------- catalog

    def catalog_list(self, seen: Seen) -> Response:
        types = set(seen.query.get("types", "ITEM").split(","))
        objs = [o for o in self.objects if o["type"] in types]
        start = int(seen.query.get("cursor", "0"))
        body: dict[str, Any] = {"objects": objs[start:start + self.page_size]}
        if start + self.page_size < len(objs):
            body["cursor"] = str(start + self.page_size)
        return JSONResponse(body)

    def _object(self, oid: str) -> dict | None:
        for o in self.objects:
            if o["id"] == oid:
                return o
            for sub in o.get("item_data", {}).get("variations", []) + o.get("modifier_list_data", {}).get(
                    "modifiers", []):
                if sub["id"] == oid:
                    return sub
        return None

    def catalog_object(self, seen: Seen, oid: str) -> Response:
        obj = self._object(oid)
        if obj is None:
            return _err(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"no object {oid}")
        return JSONResponse({"object": obj})

    def inventory(self, seen: Seen) -> Response:
        body = seen.json()
        counts = [{"catalog_object_id": vid, "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
                   "location_id": LOCATION, "quantity": self.stock[vid], "calculated_at": _now()}
                  for vid in body.get("catalog_object_ids", []) if vid in self.stock
                  and LOCATION in body.get("location_ids", [LOCATION])]
        return JSONResponse({"counts": counts})

    # -------------------------------------------------------- customers

    def customer_search(self, seen: Seen) -> Response:
        phone = seen.json().get("query", {}).get("filter", {}).get("phone_number", {}).get("exact")
        found = [c for c in self.customers if c.get("phone_number") == phone]
        return JSONResponse({"customers": found} if found else {})

    def customer_create(self, seen: Seen) -> Response:
        body = seen.json()

        def make() -> Response:
            c = {k: v for k, v in body.items() if k != "idempotency_key"}
            c["id"] = self._id("CUST")
            with self.lock:
                self.customers.append(c)
            return JSONResponse({"customer": c})

        return self._replay(seen, "customer", body.get("idempotency_key"), make)

    # ----------------------------------------------------------- orders

    def _price(self, order: dict) -> int | Response:
        total = 0
        for n, li in enumerate(order.get("line_items", [])):
            qty = int(li["quantity"])
            if "catalog_object_id" in li:
                obj = self._object(li["catalog_object_id"])
                if obj is None or obj["type"] != "ITEM_VARIATION":
                    return _err(400, "INVALID_REQUEST_ERROR", "NOT_FOUND", "unknown catalog object",
                                f"order.line_items[{n}].catalog_object_id")
                unit = obj["item_variation_data"]["price_money"]["amount"]
            elif "base_price_money" in li and "name" in li:
                unit = li["base_price_money"]["amount"]
            else:
                return _err(400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER",
                            "an ad hoc line item needs name and base_price_money", f"order.line_items[{n}]")
            for m in li.get("modifiers", []):
                if "base_price_money" in m:
                    price = m["base_price_money"]["amount"]
                else:
                    mod = self._object(m.get("catalog_object_id", ""))
                    if mod is None:
                        return _err(400, "INVALID_REQUEST_ERROR", "NOT_FOUND", "unknown modifier")
                    price = mod["modifier_data"]["price_money"]["amount"]
                unit += price * int(m.get("quantity", "1"))
            total += unit * qty
        return total

    def order_create(self, seen: Seen) -> Response:
        body = seen.json()

        def make() -> Response:
            order = dict(body["order"])
            if order.get("location_id") not in (LOCATION, "L2"):
                return _err(400, "INVALID_REQUEST_ERROR", "NOT_FOUND", "unknown location", "order.location_id")
            if len(order.get("fulfillments", [])) > 1:
                return _err(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "at most one fulfillment",
                            "order.fulfillments")
            total = self._price(order)
            if isinstance(total, Response):
                return total
            order.update(id=self._id("ORD"), version=1, state="OPEN", created_at=_now(),
                         total_money={"amount": total, "currency": "USD"},
                         net_amount_due_money={"amount": total, "currency": "USD"})
            with self.lock:
                self.orders[order["id"]] = order
            return JSONResponse({"order": order})

        return self._replay(seen, "order", body.get("idempotency_key"), make)

    def order_search(self, seen: Seen) -> Response:
        body = seen.json()
        flt = body.get("query", {}).get("filter", {})
        names = flt.get("source_filter", {}).get("source_names")
        start = flt.get("date_time_filter", {}).get("created_at", {}).get("start_at")
        out = [o for o in self.orders.values() if o["location_id"] in body.get("location_ids", [])
               and (names is None or o.get("source", {}).get("name") in names)
               and (start is None or datetime.fromisoformat(o["created_at"]) >= datetime.fromisoformat(start))]
        out.sort(key=lambda o: o["created_at"], reverse=True)
        first = int(body.get("cursor", "0"))
        limit = min(int(body.get("limit", 500)), 3)  # tiny pages: the adapter must page
        page: dict[str, Any] = {"orders": out[first:first + limit]}
        if first + limit < len(out):
            page["cursor"] = str(first + limit)
        return JSONResponse(page)

    def order_get(self, seen: Seen, oid: str) -> Response:
        if oid not in self.orders:
            return _err(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"order {oid} not found")
        return JSONResponse({"order": self.orders[oid]})

    def order_update(self, seen: Seen, oid: str) -> Response:
        if oid not in self.orders:
            return _err(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"order {oid} not found")
        update = seen.json()["order"]
        order = self.orders[oid]
        if update.get("version") != order["version"]:
            return _err(400, "INVALID_REQUEST_ERROR", "VERSION_MISMATCH", "stale version", "order.version")
        order.update(state=update.get("state", order["state"]), version=order["version"] + 1)
        return JSONResponse({"order": order})

    # --------------------------------------------------------- bookings

    def team_profiles(self, seen: Seen) -> Response:
        return JSONResponse({"team_member_booking_profiles": self.team})

    def booking_create(self, seen: Seen) -> Response:
        body = seen.json()

        def make() -> Response:
            b = dict(body["booking"])
            seg = b["appointment_segments"][0]
            obj = self._object(seg.get("service_variation_id", ""))
            if obj is None or seg.get("service_variation_version") != obj["version"]:
                return _err(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "unknown service variation version",
                            "booking.appointment_segments[0].service_variation_version")
            if seg["team_member_id"] not in {t["team_member_id"] for t in self.team}:
                return _err(400, "INVALID_REQUEST_ERROR", "NOT_FOUND", "unknown team member")
            b.update(id=self._id("BK"), version=0, status="ACCEPTED", created_at=_now())
            with self.lock:
                self.bookings[b["id"]] = b
            return JSONResponse({"booking": b})

        return self._replay(seen, "booking", body.get("idempotency_key"), make)
