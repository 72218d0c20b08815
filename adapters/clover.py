"""Clover: inventory in, atomic orders out. Money is integer cents.

Endpoints (docs.clover.com; Clover publishes no OpenAPI file):
  GET  /v3/merchants/{mId}/items?expand=modifierGroups,itemStock     catalog + stock
  GET  /v3/merchants/{mId}/modifier_groups?expand=modifiers         modifier groups
  GET  /v3/merchants/{mId}/order_types                              order types (the channel)
  GET/POST /v3/merchants/{mId}/customers                            customer find-or-create
  POST /v3/merchants/{mId}/atomic_order/orders                      create (one call, totals by Clover)
  GET  /v3/merchants/{mId}/orders?filter=createdTime>=...           find by reference
  DELETE /v3/merchants/{mId}/orders/{id}                            cancel
Webhooks: `X-Clover-Auth` carries the app's auth code; item (I), item stock (IS)
and item availability (IA) events trigger a catalog re-sync.

Clover has no idempotency key and no quantity on a line item: a line of 3 is
three identical line items, and the order carries a reference (in the note
by default) that `find` looks for before any retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import (
    Capabilities,
    CatalogChange,
    PermanentError,
    Receipt,
    SignatureError,
    external_ref,
    lower_headers,
)
from adapters.http import RequestObserver, VendorHttp, VendorHttpError, expect, loads
from adapters.mapping import (
    Settings,
    line_note,
    modifier_quantity,
    order_note,
    phone_digits,
    sent_modifiers,
    split_name,
)
from adapters.money import check_cents
from adapters.signing import event_time, reading, verify
from agi.catalog import Catalog, Item, Modifier, ModifierGroup
from agi.tickets import FulfillmentType, Ticket

BASE_URL = "https://api.clover.com"
PAGE = 100


class CloverAdapter:
    name = "clover"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {"api_token": "CLOVER_API_TOKEN", "webhook_auth_code": "CLOVER_WEBHOOK_AUTH_CODE"}
    capabilities = Capabilities(bookings=False, deferred_payment=True, native_idempotency=False,
                                channel_tag="order_type", catalog_webhooks=True)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 currency: str = "USD", timeout: float = 10.0, observer: RequestObserver | None = None,
                 transport=None, env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.merchant = s.require("merchant_id")
        self.channel = channel
        self.currency = currency
        self.token = s.secret("api_token", self.credentials["api_token"])
        self.auth_code = s.secret("webhook_auth_code", self.credentials["webhook_auth_code"], required=False)
        # Where the reference goes: `note` (documented orderCart field) or an Order
        # field whose use in orderCart is [UNCONFIRMED] (externalReferenceId, title).
        self.reference_field = s.get("reference_field", "note")
        self.attach_customer = s.flag("attach_customer", False)  # orderCart.customers is [UNCONFIRMED]
        self.find_customers = s.flag("customers", True)
        self.http = VendorHttp(self.name, s.get("base_url", BASE_URL), self._headers,
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._known: set[str] = set()
        self._order_types: dict[str, str] = {}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _path(self, tail: str) -> str:
        return f"/v3/merchants/{self.merchant}/{tail}"

    def _call(self, method: str, tail: str, what: str, **kw: Any) -> Any:
        try:
            return self.http.request(method, self._path(tail), **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"clover {what}") from None

    def _all(self, tail: str, what: str, params: dict[str, str]) -> list[dict]:
        out: list[dict] = []
        offset = 0
        while True:
            page = self._call("GET", tail, what, params={**params, "limit": str(PAGE), "offset": str(offset)}) or {}
            elements = page.get("elements", [])
            out += elements
            if len(elements) < PAGE:
                return out
            offset += PAGE

    # ------------------------------------------------------------- catalog

    def fetch_catalog(self) -> Catalog:
        raw_groups = self._all("modifier_groups", "modifier groups", {"expand": "modifiers"})
        items_raw = self._all("items", "items", {"expand": "modifierGroups,itemStock"})
        groups: dict[str, ModifierGroup] = {}
        known: set[str] = set()
        for g in raw_groups:
            options = [Modifier(id=m["id"], name=m.get("name") or m["id"], price_delta=check_cents(m.get("price", 0)),
                                available=m.get("available", True) is not False)
                       for m in (g.get("modifiers") or {}).get("elements", [])]
            known |= {m.id for m in options}
            if options:
                high = g.get("maxAllowed")
                low = int(g.get("minRequired") or 0)
                groups[g["id"]] = ModifierGroup(id=g["id"], name=g.get("name") or g["id"], min=low,
                                                max=max(int(high), low, 1) if high else None, options=options)
        items = []
        for it in items_raw:
            if it.get("hidden") or it.get("deleted") or it.get("priceType", "FIXED") not in ("FIXED", None):
                continue
            stock = it.get("itemStock") or {}
            quantity = stock.get("quantity", stock.get("stockCount"))
            available = it.get("available", True) is not False and not (
                it.get("autoManage") and quantity is not None and quantity <= 0)
            gids = [g["id"] for g in (it.get("modifierGroups") or {}).get("elements", []) if g["id"] in groups]
            items.append(Item(id=it["id"], name=it.get("name") or it["id"], price=check_cents(it.get("price", 0)),
                              modifier_groups=gids, available=available))
            known.add(it["id"])
        self._known = known
        used = {g for i in items for g in i.modifier_groups}
        return Catalog(currency=self.currency, items=items,
                       modifier_groups=[g for gid, g in groups.items() if gid in used])

    # -------------------------------------------------------------- orders

    def _order_type(self, kind: FulfillmentType) -> str | None:
        """The merchant's order type for phone orders: configured, else found by its label."""
        configured = self.settings.get(f"order_type.{kind.value}") or self.settings.get("order_type")
        if configured:
            return configured
        if not self._order_types:
            for t in self._all("order_types", "order types", {}):
                self._order_types.setdefault(str(t.get("label", "")).lower(), t["id"])
        channel = self.channel.lower()
        words = {FulfillmentType.PICKUP: ("pick", "take"), FulfillmentType.DELIVERY: ("deliver",),
                 FulfillmentType.DINE_IN: ("dine", "eat")}[kind]
        phone_types = {label: oid for label, oid in self._order_types.items() if channel in label}
        for label, oid in phone_types.items():
            if any(w in label for w in words):
                return oid
        return phone_types.get(channel)

    def _customer(self, ticket: Ticket) -> str | None:
        phone = ticket.customer.phone
        if not phone or not self.find_customers:
            return None
        digits = phone_digits(phone)
        found = self._call("GET", "customers", "customers", params={
            "filter": f"phoneNumber={phone}", "expand": "phoneNumbers", "limit": "10"}) or {}
        for c in found.get("elements", []):
            numbers = [phone_digits(p.get("phoneNumber")) for p in (c.get("phoneNumbers") or {}).get("elements", [])]
            if digits in numbers:
                return c["id"]
        first, last = split_name(ticket.customer.name)
        created = self._call("POST", "customers", "create customer", json_body={
            "firstName": first or "Guest", "lastName": last, "phoneNumbers": [{"phoneNumber": phone}]})
        return expect(created, "id", vendor=self.name)

    def reference(self, key: str) -> str:
        return external_ref(key, 64, "ct-")

    def order_body(self, ticket: Ticket, key: str, customer_id: str | None) -> dict[str, Any]:
        if not self._known:
            self.fetch_catalog()
        ref = self.reference(key)
        lines = []
        for line in ticket.items:
            if line.catalog_id not in self._known:
                raise PermanentError(f"clover: '{line.name}' ({line.catalog_id}) is not in the inventory")
            li: dict[str, Any] = {"item": {"id": line.catalog_id}}
            note = line_note(line)
            if note:
                li["note"] = note[:255]
            mods = []
            for m in sent_modifiers(line):
                # An 'extra' is the modifier twice: Clover charges each modification.
                mods += [{"modifier": {"id": m.catalog_id}}] * modifier_quantity(m)
            if mods:
                li["modifications"] = mods
            lines += [dict(li) for _ in range(line.quantity)]  # no quantity field: repeat the line
        kind = ticket.fulfillment.type if ticket.fulfillment else FulfillmentType.PICKUP
        cart: dict[str, Any] = {"lineItems": lines}
        order_type = self._order_type(kind)
        if order_type:
            cart["orderType"] = {"id": order_type}
        note = order_note(ticket, self.channel)
        if self.reference_field == "note":
            suffix = f" · ref {ref}"  # kept whole: `find` looks for it
            note = note[:255 - len(suffix)] + suffix
        else:
            cart[self.reference_field] = ref
        cart["note"] = note[:255]
        if customer_id and self.attach_customer:
            cart["customers"] = [{"id": customer_id}]
        return {"orderCart": cart}

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        customer_id = self._customer(ticket)
        data = self._call("POST", "atomic_order/orders", "create order",
                          json_body=self.order_body(ticket, key, customer_id))
        return self._receipt(data, key)

    def _receipt(self, order: dict, key: str) -> Receipt:
        total = order.get("total")
        return Receipt(self.name, str(expect(order, "id", vendor=self.name)), key,
                       str(order.get("state") or "open").lower(), check_cents(total) if total is not None else None,
                       order.get("currency", self.currency))

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        ref = self.reference(key)
        start = since or datetime.now(UTC) - timedelta(days=1)
        orders = self._all("orders", "find order", {"filter": f"createdTime>={int(start.timestamp() * 1000)}"})
        for o in orders:
            value = o.get(self.reference_field) or ""
            if value == ref or (self.reference_field == "note" and f"ref {ref}" in value):
                return self._receipt(o, key)
        return None

    def cancel(self, receipt: Receipt) -> None:
        self._call("DELETE", f"orders/{receipt.order_id}", "delete order")

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        if not self.auth_code:
            raise SignatureError("clover: CLOVER_WEBHOOK_AUTH_CODE is not set")
        try:
            event = loads(body)
        except ValueError as exc:
            raise SignatureError(f"clover: malformed webhook: {exc}") from exc
        if isinstance(event, dict) and set(event) == {"verificationCode"}:
            return None  # the one-time URL verification POST carries no auth header
        verify(lower_headers(headers).get("x-clover-auth"), self.auth_code)
        with reading("clover"):
            updates = (event.get("merchants") or {}).get(self.merchant) or []
            kinds = {str(u.get("objectId", "")).split(":", 1)[0] for u in updates}
            # No event id: the endpoint knows a retry by its body. The newest update dates the event.
            times = [t for t in (event_time(u.get("ts")) for u in updates) if t is not None]
        if kinds & {"I", "IS", "IA", "IM", "IG"}:
            return CatalogChange(self.name, self.merchant, resync=True, event_type=",".join(sorted(kinds)),
                                 occurred_at=max(times, default=None))
        return None

    def close(self) -> None:
        self.http.close()
