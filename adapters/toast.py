"""Toast: Menus v2 + Stock in, Orders v2 out.

Endpoints (Toast's published YAML, mirrored in tests/pos/specs/toast):
  POST /authentication/v1/authentication/login        machine-client token
  GET  /menus/v2/menus                                the published menu
  GET  /stock/v1/inventory                            items that are not IN_STOCK
  GET  /config/v2/diningOptions                       dining options (docs only; skipped when configured)
  POST /orders/v2/orders                              create; `externalId` must be unique
  GET  /orders/v2/ordersBulk                          find an order by externalId
  POST /orders/v2/orders/{guid}/void                  cancel
Every call carries `Toast-Restaurant-External-ID`. Webhooks: menus (re-sync) and
stock (in/out of stock at once).

Toast has no idempotency key: the order's `externalId` is our key under the
merchant's assigned authority, and Toast refuses a second order with the same
externalId, so a refused duplicate is looked up and returned as the original.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from adapters.base import (
    Capabilities,
    CatalogChange,
    PermanentError,
    Receipt,
    SignatureError,
    TransientError,
    external_ref,
    lower_headers,
)
from adapters.http import RequestObserver, VendorHttp, VendorHttpError, expect, loads
from adapters.mapping import (
    Settings,
    fulfillment_time,
    line_note,
    modifier_quantity,
    national_number,
    sent_modifiers,
    split_name,
)
from adapters.money import from_decimal
from adapters.signing import event_time, hmac_b64, reading, verify
from agi.catalog import Catalog, Item, Modifier, ModifierGroup
from agi.tickets import FulfillmentType, Ticket

BASE_URL = "https://ws-api.toasttab.com"
BEHAVIOUR = {FulfillmentType.PICKUP: "TAKE_OUT", FulfillmentType.DELIVERY: "DELIVERY",
             FulfillmentType.DINE_IN: "DINE_IN"}


def toast_date(dt: datetime) -> str:
    """Toast's ISO-8601 form: 2026-01-01T23:30:00.000+0000."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class _Index:
    item_group: dict[str, str] = field(default_factory=dict)  # menu item guid -> menu group guid
    option_group: dict[str, str] = field(default_factory=dict)  # modifier option guid -> modifier group guid
    open_price: set[str] = field(default_factory=set)
    loaded: bool = False


class ToastAdapter:
    name = "toast"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {
        "client_id": "TOAST_CLIENT_ID",
        "client_secret": "TOAST_CLIENT_SECRET",
        "webhook_secret": "TOAST_WEBHOOK_SECRET",
    }
    capabilities = Capabilities(bookings=False, deferred_payment=True, native_idempotency=False,
                                channel_tag="dining_option", catalog_webhooks=True)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 currency: str = "USD", timeout: float = 10.0, observer: RequestObserver | None = None,
                 transport=None, env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.restaurant = s.require("restaurant_guid")
        self.authority = s.require("external_id_authority", "the externalId prefix Toast assigned to this client")
        if len(self.authority) > 16:
            raise PermanentError("toast: external_id_authority is at most 16 characters")
        self.channel = channel
        self.tz = ZoneInfo(tz)
        self.currency = currency
        self.client_id = s.secret("client_id", self.credentials["client_id"])
        self.client_secret = s.secret("client_secret", self.credentials["client_secret"])
        self.webhook_secret = s.secret("webhook_secret", self.credentials["webhook_secret"], required=False)
        self.webhook_header = s.get("webhook_signature_header", "Toast-Signature").lower()  # [UNCONFIRMED]
        self.visibility = s.get("visibility", "ORDERING_PARTNERS")
        self.email_template = s.get("guest_email_template", "phone-{digits}@guest.invalid")
        self.http = VendorHttp(self.name, s.get("base_url", BASE_URL), self._headers,
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = threading.Lock()
        self._index = _Index()
        self._dining: dict[str, str] = {}

    # ---------------------------------------------------------------- auth

    def _login(self) -> str:
        with self._token_lock:
            if self._token and time.monotonic() < self._token_until:
                return self._token
            try:
                data = self.http.request("POST", "/authentication/v1/authentication/login", json_body={
                    "clientId": self.client_id, "clientSecret": self.client_secret,
                    "userAccessType": "TOAST_MACHINE_CLIENT"})
            except VendorHttpError as exc:
                raise exc.permanent("toast login") from None
            token = expect(data, "token", vendor=self.name)
            self._token = str(expect(token, "accessToken", vendor=self.name))
            self._token_until = time.monotonic() + int(token.get("expiresIn", 3600)) - 60
            return self._token

    def _headers(self) -> dict[str, str]:
        return {"Toast-Restaurant-External-ID": self.restaurant}

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        for attempt in (1, 2):
            token = self._login()
            try:
                return self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
            except VendorHttpError as exc:
                if exc.status == 401 and attempt == 1:  # expired early: log in again once
                    with self._token_lock:
                        self._token = None
                    continue
                raise

    def _get(self, path: str, what: str, **kw: Any) -> Any:
        try:
            return self._call("GET", path, what, **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"toast {what}") from None

    # ------------------------------------------------------------- catalog

    def _visible(self, node: dict) -> bool:
        if not self.visibility:
            return True
        vis = node.get("visibility")
        return vis is None or self.visibility in vis

    def fetch_catalog(self) -> Catalog:
        menu = self._get("/menus/v2/menus", "menus") or {}
        out_of_stock = self._out_of_stock()
        option_refs = {str(k): v for k, v in (menu.get("modifierOptionReferences") or {}).items()}
        group_refs = {str(k): v for k, v in (menu.get("modifierGroupReferences") or {}).items()}
        index = _Index(loaded=True)
        groups: dict[str, ModifierGroup] = {}

        def group(ref: Any) -> str | None:
            g = group_refs.get(str(ref))
            if g is None or not self._visible(g):
                return None
            if g["guid"] in groups:
                return g["guid"]
            options = []
            for oref in g.get("modifierOptionReferences") or []:
                o = option_refs.get(str(oref))
                if o is None or not self._visible(o):
                    continue
                index.option_group[o["guid"]] = g["guid"]
                nested = [gid for gid in (group(r) for r in o.get("modifierGroupReferences") or []) if gid]
                options.append(Modifier(id=o["guid"], name=o.get("name") or o["guid"],
                                        price_delta=from_decimal(o.get("price") or 0, self.currency),
                                        default=bool(o.get("isDefault")), groups=nested,
                                        available=o["guid"] not in out_of_stock))
            if not options:
                return None
            high = g.get("maxSelections")
            low = int(g.get("minSelections") or 0)
            if g.get("requiredMode") == "REQUIRED":
                low = max(low, 1)
            groups[g["guid"]] = ModifierGroup(id=g["guid"], name=g.get("name") or g["guid"], min=low,
                                              max=max(int(high), low, 1) if high else None, options=options)
            return g["guid"]

        items: dict[str, Item] = {}

        def walk(menu_group: dict, category: str) -> None:
            if not self._visible(menu_group):
                return
            for mi in menu_group.get("menuItems") or []:
                if not self._visible(mi) or mi["guid"] in items:
                    continue
                index.item_group[mi["guid"]] = menu_group["guid"]
                if mi.get("pricingStrategy") == "OPEN_PRICE" or mi.get("price") is None:
                    index.open_price.add(mi["guid"])
                    continue  # a caller cannot name the price of an open-price item
                gids = [gid for gid in (group(r) for r in mi.get("modifierGroupReferences") or []) if gid]
                items[mi["guid"]] = Item(id=mi["guid"], name=mi.get("name") or mi["guid"], category=category,
                                         description=mi.get("description") or "",
                                         price=from_decimal(mi["price"], self.currency), modifier_groups=gids,
                                         available=mi["guid"] not in out_of_stock)
            for sub in menu_group.get("menuGroups") or []:
                walk(sub, category)

        for m in menu.get("menus") or []:
            if self._visible(m):
                for mg in m.get("menuGroups") or []:
                    walk(mg, mg.get("name", ""))
        self._index = index
        used = {g for i in items.values() for g in i.modifier_groups}
        used |= {n for g in groups.values() for o in g.options for n in o.groups}
        return Catalog(currency=self.currency, version=str(menu.get("lastUpdated", "")), items=list(items.values()),
                       modifier_groups=[g for gid, g in groups.items() if gid in used])

    def _out_of_stock(self) -> set[str]:
        """Toast advises: when the Stock API is down, treat items as in stock."""
        try:
            rows = self._call("GET", "/stock/v1/inventory", "stock") or []
        except (TransientError, VendorHttpError):
            return set()
        return {r["guid"] for r in rows if r.get("status") == "OUT_OF_STOCK"
                or (r.get("status") == "QUANTITY" and Decimal(str(r.get("quantity") or 0)) <= 0)}

    def _ensure_index(self) -> _Index:
        if not self._index.loaded:
            self.fetch_catalog()
        return self._index

    # -------------------------------------------------------------- orders

    def _dining_option(self, kind: FulfillmentType) -> str:
        configured = self.settings.get(f"dining_option.{kind.value}")
        if configured:
            return configured
        if not self._dining:
            options = self._get("/config/v2/diningOptions", "dining options") or []
            for behaviour in ("TAKE_OUT", "DELIVERY", "DINE_IN"):
                matching = [o for o in options if o.get("behavior") == behaviour]
                # Prefer the merchant's dedicated phone option: it is how phone orders show in reports.
                phone = [o for o in matching if self.channel.lower() in str(o.get("name", "")).lower()]
                if phone or matching:
                    self._dining[behaviour] = (phone or matching)[0]["guid"]
        guid = self._dining.get(BEHAVIOUR[kind])
        if not guid:
            raise PermanentError(f"toast: the restaurant has no {BEHAVIOUR[kind]} dining option")
        return guid

    def external_id(self, key: str) -> str:
        return f"{self.authority}:{external_ref(key, 256)}"

    def order_body(self, ticket: Ticket, key: str) -> dict[str, Any]:
        index = self._ensure_index()
        kind = ticket.fulfillment.type if ticket.fulfillment else FulfillmentType.PICKUP
        selections = []
        for line in ticket.items:
            group = index.item_group.get(line.catalog_id)
            if group is None:
                raise PermanentError(f"toast: '{line.name}' ({line.catalog_id}) is not on the published menu")
            sel: dict[str, Any] = {"entityType": "MenuItemSelection",
                                   "item": {"guid": line.catalog_id, "entityType": "MenuItem"},
                                   "itemGroup": {"guid": group, "entityType": "MenuGroup"},
                                   "quantity": line.quantity, "modifiers": []}
            for m in sent_modifiers(line):
                og = index.option_group.get(m.catalog_id)
                if og is None:
                    raise PermanentError(f"toast: modifier '{m.name}' ({m.catalog_id}) is not on the menu")
                sel["modifiers"].append({"entityType": "MenuItemSelection",
                                         "item": {"guid": m.catalog_id, "entityType": "MenuItem"},
                                         "optionGroup": {"guid": og, "entityType": "MenuOptionGroup"},
                                         "quantity": modifier_quantity(m)})
            note = line_note(line)
            if note:  # free text goes to the kitchen as a special request [V]
                sel["modifiers"].append({"entityType": "MenuItemSelection", "selectionType": "SPECIAL_REQUEST",
                                         "displayName": note[:200], "quantity": 1})
            selections.append(sel)
        first, last = split_name(ticket.customer.name)
        digits = national_number(ticket.customer.phone)
        check: dict[str, Any] = {"entityType": "Check", "selections": selections,
                                 "tabName": f"{ticket.customer.name or 'Guest'} ({self.channel.lower()})"[:60]}
        if ticket.customer.name or ticket.customer.phone:
            check["customer"] = {"entityType": "Customer", "firstName": first or "Guest",
                                 "lastName": last or self.channel, "phone": digits,
                                 "email": self.email_template.format(digits=digits or "0")[:53]}
        body: dict[str, Any] = {"entityType": "Order", "externalId": self.external_id(key),
                                "diningOption": {"guid": self._dining_option(kind), "entityType": "DiningOption"},
                                "checks": [check]}
        revenue_center = self.settings.get("revenue_center_guid")
        if revenue_center:
            body["revenueCenter"] = {"guid": revenue_center, "entityType": "RevenueCenter"}
        when = fulfillment_time(ticket, self.tz)
        if when.at is not None:
            body["promisedDate"] = toast_date(when.at)
        if kind is FulfillmentType.DELIVERY:
            body["deliveryInfo"] = self._delivery(ticket)
        # Pay at pickup: no payments; the check stays OPEN [V].
        return body

    def _delivery(self, ticket: Ticket) -> dict[str, Any]:
        address = (ticket.fulfillment.address if ticket.fulfillment else None) or ""
        if not address:
            raise PermanentError("toast: a delivery order needs an address")
        zip_match = re.search(r"\b(\d{5})(?:-\d{4})?\b\s*$", address)
        zip_code = zip_match.group(1) if zip_match else self.settings.get("delivery_zip")
        city = self.settings.get("delivery_city")
        state = self.settings.get("delivery_state")
        if not (zip_code and city and state):
            raise PermanentError("toast: delivery needs zip, city and state (settings delivery_city, "
                                 "delivery_state, delivery_zip fill what the caller did not say)")
        return {"address1": address[:100], "city": city, "state": state, "zipCode": zip_code,
                "notes": f"{self.channel} order"}

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        body = self.order_body(ticket, key)
        try:
            data = self._call("POST", "/orders/v2/orders", "create order", json_body=body)
        except VendorHttpError as exc:
            if exc.status in (400, 409) and _is_duplicate(exc):
                found = self.find(key)
                if found is not None:
                    return found
            raise exc.permanent("toast create order") from None
        return self._receipt(data, key)

    def _receipt(self, order: dict, key: str) -> Receipt:
        total = sum((Decimal(str(c.get("totalAmount") or 0)) for c in order.get("checks") or []), Decimal(0))
        return Receipt(self.name, str(expect(order, "guid", vendor=self.name)), key,
                       "voided" if order.get("voided") else "open", from_decimal(total, self.currency), self.currency,
                       {"display_number": order.get("displayNumber")})

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        wanted = self.external_id(key)
        end = datetime.now(UTC) + timedelta(minutes=5)
        start = since or end - timedelta(days=1)
        page = 1
        while True:
            orders = self._get("/orders/v2/ordersBulk", "find order", params={
                "startDate": toast_date(start), "endDate": toast_date(end), "pageSize": "100", "page": str(page)})
            for o in orders or []:
                if o.get("externalId") == wanted:
                    return self._receipt(o, key)
            if not orders or len(orders) < 100:
                return None
            page += 1

    def cancel(self, receipt: Receipt) -> None:
        try:
            self._call("POST", f"/orders/v2/orders/{receipt.order_id}/void", "void",
                       json_body={"selections": {"voidAll": True}, "payments": {"voidAll": True}})
        except VendorHttpError as exc:
            raise exc.permanent("toast void") from None

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        """HMAC-SHA256 (base64) of the body; the header name is configurable [UNCONFIRMED]."""
        if not self.webhook_secret:
            raise SignatureError("toast: TOAST_WEBHOOK_SECRET is not set")
        verify(lower_headers(headers).get(self.webhook_header), hmac_b64(self.webhook_secret, body))
        with reading("toast"):
            event = loads(body)
            category = event.get("eventCategory")
            details = event.get("details") or {}
            if details.get("restaurantGuid") not in (None, self.restaurant):
                return None
            stamp = {"event_id": str(event.get("guid") or "") or None, "event_type": str(event.get("eventType")),
                     "occurred_at": event_time(event.get("timestamp"))}
            if category in ("menus", "menus_updated") or event.get("eventType") in ("menus_updated", "menu_updated"):
                return CatalogChange(self.name, self.restaurant, resync=True, **stamp)
            if category != "stock":
                return None
            status = details.get("status") or str(event.get("eventType", "")).upper()
            qty = details.get("quantity")
            available = not (status in ("OUT_OF_STOCK", "out_of_stock") or (
                status in ("QUANTITY", "low_quantity") and qty is not None and Decimal(str(qty)) <= 0))
            return CatalogChange(self.name, self.restaurant, {str(details["itemGuid"]): available}, **stamp)

    def close(self) -> None:
        self.http.close()


def _is_duplicate(exc: VendorHttpError) -> bool:
    """Toast's status and wording for a repeated externalId are undocumented: recognise it loosely."""
    text = exc.text.lower()
    return exc.status == 409 or ("externalid" in text and ("exist" in text or "duplicate" in text or "unique" in text))
