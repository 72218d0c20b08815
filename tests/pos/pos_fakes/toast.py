"""A fake Toast: requests checked against Toast's published Orders, Menus, Stock
and Authentication descriptions (Swagger 2 / OpenAPI 3 mirror in specs/toast).

`/config/v2/diningOptions` is not in the saved specs: its shape follows the
configuration API documentation only.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

from pos_fakes import spec
from pos_fakes.server import FakeVendor, Seen

CLIENT_ID = "toast-client"
CLIENT_SECRET = "toast-secret"
RESTAURANT = "0b2b6f0e-4b7c-4c1e-9a55-3c1f0d7a0001"
TAKE_OUT = "d1000000-0000-4000-8000-000000000001"
PHONE_TAKE_OUT = "d1000000-0000-4000-8000-000000000002"
DELIVERY = "d1000000-0000-4000-8000-000000000003"

BURGER = "a1000000-0000-4000-8000-000000000001"
FRIES = "a1000000-0000-4000-8000-000000000002"
SHAKE = "a1000000-0000-4000-8000-000000000003"
MARKET = "a1000000-0000-4000-8000-000000000004"
HIDDEN = "a1000000-0000-4000-8000-000000000005"
MAINS = "b1000000-0000-4000-8000-000000000001"
TEMP_GROUP = "c1000000-0000-4000-8000-000000000001"
ADDONS_GROUP = "c1000000-0000-4000-8000-000000000002"
MEDIUM = "e1000000-0000-4000-8000-000000000001"
WELL = "e1000000-0000-4000-8000-000000000002"
BACON = "e1000000-0000-4000-8000-000000000003"
CHEESE = "e1000000-0000-4000-8000-000000000004"

PARTNERS = ["POS", "TOAST_ONLINE_ORDERING", "ORDERING_PARTNERS"]


def default_menu() -> dict:
    return {
        "restaurantGuid": RESTAURANT, "lastUpdated": "2026-01-01T10:00:00.000+0000",
        "restaurantTimeZone": "America/New_York",
        "menus": [{"guid": "f1000000-0000-4000-8000-000000000001", "name": "Dinner", "visibility": PARTNERS,
                   "menuGroups": [{"guid": MAINS, "name": "Mains", "visibility": PARTNERS, "menuItems": [
                       {"guid": BURGER, "name": "Burger", "price": 12.5, "pricingStrategy": "BASE_PRICE",
                        "visibility": PARTNERS, "modifierGroupReferences": [1, 2]},
                       {"guid": FRIES, "name": "Fries", "price": 4.25, "pricingStrategy": "BASE_PRICE",
                        "visibility": PARTNERS, "modifierGroupReferences": []},
                       {"guid": SHAKE, "name": "Shake", "price": 5.99, "pricingStrategy": "BASE_PRICE",
                        "visibility": PARTNERS, "modifierGroupReferences": []},
                       {"guid": MARKET, "name": "Market Fish", "price": None, "pricingStrategy": "OPEN_PRICE",
                        "visibility": PARTNERS, "modifierGroupReferences": []},
                       {"guid": HIDDEN, "name": "Staff Meal", "price": 1.0, "pricingStrategy": "BASE_PRICE",
                        "visibility": ["POS"], "modifierGroupReferences": []}],
                       "menuGroups": []}]}],
        "modifierGroupReferences": {
            "1": {"guid": TEMP_GROUP, "referenceId": 1, "name": "Temperature", "minSelections": 1,
                  "maxSelections": 1, "requiredMode": "REQUIRED", "isMultiSelect": False, "visibility": PARTNERS,
                  "modifierOptionReferences": [11, 12]},
            "2": {"guid": ADDONS_GROUP, "referenceId": 2, "name": "Add-ons", "minSelections": 0,
                  "maxSelections": None, "requiredMode": "OPTIONAL", "isMultiSelect": True, "visibility": PARTNERS,
                  "modifierOptionReferences": [13, 14]}},
        "modifierOptionReferences": {
            "11": {"referenceId": 11, "guid": MEDIUM, "name": "Medium", "price": 0.0, "isDefault": True,
                   "visibility": PARTNERS, "modifierGroupReferences": []},
            "12": {"referenceId": 12, "guid": WELL, "name": "Well Done", "price": 0.0, "visibility": PARTNERS,
                   "modifierGroupReferences": []},
            "13": {"referenceId": 13, "guid": BACON, "name": "Bacon", "price": 1.75, "visibility": PARTNERS,
                   "modifierGroupReferences": []},
            "14": {"referenceId": 14, "guid": CHEESE, "name": "Cheese", "price": 0.8, "visibility": PARTNERS,
                   "modifierGroupReferences": []}},
        "preModifierGroupReferences": {},
    }


def _toast_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _parse(d: str) -> datetime:
    return datetime.strptime(d, "%Y-%m-%dT%H:%M:%S.%f%z")


class FakeToast(FakeVendor):
    name = "toast"

    def __init__(self, duplicate_status: int = 409) -> None:
        super().__init__()
        self.menu = default_menu()
        self.stock: list[dict] = [{"guid": SHAKE, "itemGuidValidity": "VALID", "status": "OUT_OF_STOCK",
                                   "quantity": None, "multiLocationId": "100"}]
        self.dining = [{"guid": TAKE_OUT, "name": "Take Out", "behavior": "TAKE_OUT", "curbside": False},
                       {"guid": PHONE_TAKE_OUT, "name": "Phone Take Out", "behavior": "TAKE_OUT", "curbside": False},
                       {"guid": DELIVERY, "name": "Delivery", "behavior": "DELIVERY", "curbside": False}]
        self.orders: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.logins = 0
        self.duplicate_status = duplicate_status
        self._numbers = itertools.count(101)
        self.route("POST", "/authentication/v1/authentication/login", self.login)
        self.route("GET", "/menus/v2/menus", lambda s: JSONResponse(self.menu))
        self.route("GET", "/stock/v1/inventory", lambda s: JSONResponse(self.stock))
        self.route("GET", "/config/v2/diningOptions", lambda s: JSONResponse(self.dining))
        self.route("POST", "/orders/v2/orders", self.create)
        self.route("GET", "/orders/v2/ordersBulk", self.bulk)
        self.route("POST", "/orders/v2/orders/{guid}/void", self.void)

    # --------------------------------------------------------- contract

    def auth_error(self, seen: Seen) -> Response | None:
        if seen.path.startswith("/authentication/"):
            return None
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self.error_response(401, "Access token is invalid")
        if seen.headers.get("toast-restaurant-external-id") != RESTAURANT:
            return self.error_response(403, "restaurant not accessible to this client")
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        for prefix, name in (("/orders/v2", "orders"), ("/menus/v2", "menus"), ("/stock/", "stock"),
                             ("/authentication/v1", "authentication")):
            if seen.path.startswith(prefix):
                return spec.toast(name).errors(seen.method, seen.path, seen.query, seen.headers, seen.body)
        if seen.path == "/config/v2/diningOptions" and seen.method == "GET":
            return []  # documented endpoint, no published schema saved
        return [f"{seen.method} {seen.path} is not a Toast endpoint"]

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse({"status": status, "code": 10000 + status, "message": message,
                             "requestId": str(uuid.uuid4()), "canRetry": "NO" if status < 500 else "YES"},
                            status_code=status)

    # ---------------------------------------------------------- handlers

    def login(self, seen: Seen) -> Response:
        body = seen.json()
        if (body.get("clientId"), body.get("clientSecret")) != (CLIENT_ID, CLIENT_SECRET):
            return self.error_response(401, "invalid client credentials")
        token = uuid.uuid4().hex
        self.tokens.add(token)
        self.logins += 1
        return JSONResponse({"token": {"tokenType": "Bearer", "accessToken": token, "expiresIn": 86400,
                                       "scope": "orders.orders:write menus:read stock:read"}, "status": "SUCCESS"})

    def _menu_item(self, guid: str) -> tuple[dict | None, str | None]:
        def walk(groups):
            for g in groups:
                for mi in g.get("menuItems", []):
                    if mi["guid"] == guid:
                        return mi, g["guid"]
                found = walk(g.get("menuGroups", []))
                if found[0]:
                    return found
            return None, None

        for m in self.menu["menus"]:
            found = walk(m["menuGroups"])
            if found[0]:
                return found
        return None, None

    def _group(self, guid: str) -> dict | None:
        return next((g for g in self.menu["modifierGroupReferences"].values() if g["guid"] == guid), None)

    def _option(self, guid: str) -> dict | None:
        return next((o for o in self.menu["modifierOptionReferences"].values() if o["guid"] == guid), None)

    def create(self, seen: Seen) -> Response:
        body = seen.json()
        ext = body.get("externalId")
        with self.lock:
            if ext and any(o.get("externalId") == ext for o in self.orders.values()):
                return self.error_response(self.duplicate_status, f"An order with externalId {ext} already exists")
        dining = next((d for d in self.dining if d["guid"] == body["diningOption"]["guid"]), None)
        if dining is None:
            return self.error_response(404, "dining option not found")
        checks = []
        for check in body["checks"]:
            if dining["behavior"] in ("TAKE_OUT", "DELIVERY") and "customer" not in check:
                return self.error_response(400, "takeout and delivery orders must provide a customer")
            total = Decimal(0)
            for sel in check["selections"]:
                item, group = self._menu_item(sel["item"]["guid"])
                if item is None or sel.get("itemGroup", {}).get("guid") != group:
                    return self.error_response(404, f"menu item {sel['item']['guid']} not found in that group")
                unit = Decimal(str(item["price"]))
                chosen: dict[int, int] = {}
                for mod in sel.get("modifiers", []):
                    if mod.get("selectionType") == "SPECIAL_REQUEST":
                        continue
                    og = mod.get("optionGroup")
                    if not og:
                        return self.error_response(400, "modifier selections need optionGroup")
                    g = self._group(og["guid"])
                    opt = self._option(mod["item"]["guid"])
                    if g is None or opt is None or opt["referenceId"] not in g["modifierOptionReferences"]:
                        return self.error_response(404, "modifier option not in that group")
                    chosen[g["referenceId"]] = chosen.get(g["referenceId"], 0) + 1
                    unit += Decimal(str(opt["price"])) * Decimal(str(mod["quantity"]))
                for ref in item.get("modifierGroupReferences", []):
                    g = self.menu["modifierGroupReferences"][str(ref)]
                    if g["requiredMode"] == "REQUIRED" and chosen.get(ref, 0) < g["minSelections"]:
                        return self.error_response(400, f"missing required modifier group {g['name']}")
                total += unit * Decimal(str(sel["quantity"]))
            if dining["behavior"] == "DELIVERY" and "deliveryInfo" not in body:
                return self.error_response(400, "delivery orders need deliveryInfo")
            checks.append({**check, "guid": str(uuid.uuid4()), "totalAmount": float(total),
                           "paymentStatus": "OPEN"})
        order = {**body, "guid": str(uuid.uuid4()), "checks": checks, "displayNumber": str(next(self._numbers)),
                 "source": "API", "createdDate": _toast_now(), "voided": False}
        with self.lock:
            if ext and any(o.get("externalId") == ext for o in self.orders.values()):
                return self.error_response(self.duplicate_status, f"An order with externalId {ext} already exists")
            self.orders[order["guid"]] = order
        return JSONResponse(order)

    def bulk(self, seen: Seen) -> Response:
        start = _parse(seen.query["startDate"])
        end = _parse(seen.query["endDate"])
        size = int(seen.query.get("pageSize", "100"))
        page = int(seen.query.get("page", "1"))
        found = [o for o in self.orders.values() if start <= _parse(o["createdDate"]) <= end]
        return JSONResponse(found[(page - 1) * size: page * size])

    def void(self, seen: Seen, guid: str) -> Response:
        order = self.orders.get(guid)
        if order is None:
            return self.error_response(404, "order not found")
        order["voided"] = True
        return JSONResponse(order)

    def out_of_stock(self, guid: str) -> None:
        self.stock.append({"guid": guid, "itemGuidValidity": "VALID", "status": "OUT_OF_STOCK"})

    def created(self) -> list[dict[str, Any]]:
        return list(self.orders.values())
