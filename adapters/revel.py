"""Revel: products and modifiers in, weborder cart out.

Endpoints ({subdomain}.revelup.com; no published spec, shapes per NOTES.md):
  GET  /resources/Product/, /resources/ProductModifier/,
       /resources/ModifierClass/, /resources/Modifier/      catalog (Tastypie paging)
  POST /specialresources/cart/submit/                      the order
  GET  /resources/Order/?created_date__gte=...              find by the reference in `notes`
Auth: `API-AUTHENTICATION: key:secret`. Webhooks [V]: `X-Revel-Signature`
(HMAC of the body), `X-Revel-Event-Type`: inout.stock and menu.updated trigger a
catalog re-sync; ping is answered and ignored.

The cart's `dining_option` and `paymentInfo.type` enums and the customer
fields of `orderInfo` are unconfirmed: each comes from merchant settings.
Cancelling through the API is not documented, so `cancel` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.base import (
    Capabilities,
    CatalogChange,
    PermanentError,
    Receipt,
    SignatureError,
    external_ref,
    lower_headers,
)
from adapters.http import RequestObserver, VendorHttp, VendorHttpError, dumps, expect
from adapters.mapping import (
    Settings,
    fulfillment_time,
    line_note,
    modifier_quantity,
    order_note,
    sent_modifiers,
    unit_modifier_price,
)
from adapters.money import from_decimal, to_decimal
from adapters.signing import hmac_hex, verify
from agi.catalog import Catalog, Item, Modifier, ModifierGroup
from agi.tickets import FulfillmentType, Ticket

PAGE = 100


def _uri_id(uri: Any) -> str:
    """'/resources/ModifierClass/7/' -> '7' (Tastypie resource URIs)."""
    return str(uri).rstrip("/").rsplit("/", 1)[-1]


class RevelAdapter:
    name = "revel"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {
        "api_key": "REVEL_API_KEY",
        "api_secret": "REVEL_API_SECRET",
        "webhook_secret": "REVEL_WEBHOOK_SECRET",
    }
    capabilities = Capabilities(bookings=False, deferred_payment=True, native_idempotency=False,
                                channel_tag="dining_option", catalog_webhooks=True)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 currency: str = "USD", timeout: float = 10.0, observer: RequestObserver | None = None,
                 transport=None, env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.establishment = int(s.require("establishment_id"))
        base = s.get("base_url") or f"https://{s.require('subdomain')}.revelup.com"
        self.channel = channel
        self.currency = currency
        self.tz = ZoneInfo(tz)
        key = s.secret("api_key", self.credentials["api_key"])
        secret = s.secret("api_secret", self.credentials["api_secret"])
        self._auth = f"{key}:{secret}"
        self.webhook_secret = s.secret("webhook_secret", self.credentials["webhook_secret"], required=False)
        self.webhook_algo = s.get("webhook_algorithm", "sha256")  # the HMAC's hash is [UNCONFIRMED]
        self.content_type = s.get("cart_content_type", "application/json")  # one integrator says text/plain
        self.http = VendorHttp(self.name, base, lambda: {"API-AUTHENTICATION": self._auth},
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._known: set[str] = set()

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        try:
            return self.http.request(method, path, **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"revel {what}") from None

    def _all(self, resource: str, params: dict[str, str]) -> list[dict]:
        out: list[dict] = []
        offset = 0
        while True:
            page = self._call("GET", f"/resources/{resource}/", resource, params={
                **params, "limit": str(PAGE), "offset": str(offset), "format": "json"}) or {}
            objects = page.get("objects", [])
            out += objects
            if not (page.get("meta") or {}).get("next") or not objects:
                return out
            offset += len(objects)  # the server may cap the page below our limit

    # ------------------------------------------------------------- catalog

    def fetch_catalog(self) -> Catalog:
        est = {"establishment": str(self.establishment)}
        products = self._all("Product", {**est, "active": "true"})
        links = self._all("ProductModifier", est)
        classes = {str(c["id"]): c for c in self._all("ModifierClass", est)}
        modifiers = self._all("Modifier", {**est, "active": "true"})
        by_class: dict[str, list[Modifier]] = {}
        for m in modifiers:
            by_class.setdefault(_uri_id(m.get("modifierClass") or m.get("modifier_class")), []).append(
                Modifier(id=str(m["id"]), name=m.get("name") or str(m["id"]),
                         price_delta=from_decimal(m.get("price") or "0", self.currency)))
        groups: dict[str, ModifierGroup] = {}
        item_groups: dict[str, list[str]] = {}
        for link in links:
            cid = _uri_id(link.get("modifierclass") or link.get("modifier_class"))
            pid = _uri_id(link.get("product"))
            options = by_class.get(cid)
            if not options or cid not in classes:
                continue
            most = link.get("maximum_modifier_qty")  # 0 or blank: no maximum [V changelog 2.74]
            low = int(self.settings.number(f"modifier_min.{cid}", 0))
            gid = cid if not most else f"{cid}@{pid}"
            groups[gid] = ModifierGroup(id=gid, name=classes[cid].get("name") or cid, min=low,
                                        max=max(int(most), low, 1) if most else None, options=options)
            item_groups.setdefault(pid, []).append(gid)
        items = []
        known = {m.id for opts in by_class.values() for m in opts}
        for p in products:
            if p.get("price") in (None, ""):
                continue
            pid = str(p["id"])
            known.add(pid)
            items.append(Item(id=pid, name=p.get("name") or pid, price=from_decimal(p["price"], self.currency),
                              description=p.get("description") or "", modifier_groups=item_groups.get(pid, []),
                              available=not p.get("sold_out", False)))
        self._known = known
        used = {g for i in items for g in i.modifier_groups}
        return Catalog(currency=self.currency, items=items,
                       modifier_groups=[g for gid, g in groups.items() if gid in used])

    # -------------------------------------------------------------- orders

    def reference(self, key: str) -> str:
        return external_ref(key, 64, "ct-")

    def _int(self, value: str, what: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise PermanentError(f"revel: {what} id {value!r} is not a Revel id") from None

    def cart_body(self, ticket: Ticket, key: str) -> dict[str, Any]:
        if not self._known:
            self.fetch_catalog()
        cur = ticket.currency
        items = []
        for line in ticket.items:
            if line.catalog_id not in self._known:
                raise PermanentError(f"revel: '{line.name}' ({line.catalog_id}) is not an active product")
            item: dict[str, Any] = {"product": self._int(line.catalog_id, line.name), "quantity": line.quantity,
                                    "price": to_decimal(line.unit_price_minor, cur)}
            mods = [{"modifier": self._int(m.catalog_id, m.name), "qty": modifier_quantity(m), "qty_type": 0,
                     "modifier_price": to_decimal(unit_modifier_price(m), cur)} for m in sent_modifiers(line)]
            if mods:
                item["modifieritems"] = mods
            note = line_note(line)
            if note:
                item["special_request"] = note
            items.append(item)
        kind = ticket.fulfillment.type if ticket.fulfillment else FulfillmentType.PICKUP
        when = fulfillment_time(ticket, self.tz)
        info: dict[str, Any] = {"asap": when.asap, "call_name": ticket.customer.name or self.channel,
                                "notes": f"{order_note(ticket, self.channel)} · ref {self.reference(key)}"}
        dining = self.settings.get(f"dining_option.{kind.value}")
        if dining is None:
            raise PermanentError(f"revel: set pos.settings.dining_option.{kind.value} (the merchant's dining "
                                 "option number for phone orders)")
        info["dining_option"] = int(dining)
        if when.at is not None:
            info["pickup_time"] = when.at.strftime("%Y-%m-%d %H:%M:%S")
        for ours, theirs in self.settings.mapping("order_info").items():  # e.g. order_info.phone: phone_number
            value = {"phone": ticket.customer.phone, "name": ticket.customer.name,
                     "address": ticket.fulfillment.address if ticket.fulfillment else None}.get(ours)
            if value:
                info[theirs] = value
        body: dict[str, Any] = {"skin": self.settings.get("skin", "weborder"), "establishmentId": self.establishment,
                                "items": items, "orderInfo": info}
        payment_type = self.settings.get(f"payment_type.{ticket.payment.value}")
        if payment_type:
            body["paymentInfo"] = {"type": int(payment_type), "amount": to_decimal(ticket.total_minor, cur),
                                   "tip": to_decimal(0, cur)}
        return body

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        body = self.cart_body(ticket, key)
        data = self._call("POST", "/specialresources/cart/submit/", "cart submit", content=dumps(body),
                          content_type=self.content_type)
        if not isinstance(data, dict) or data.get("status") != "OK":
            message = data.get("errorMsg") if isinstance(data, dict) else data
            raise PermanentError(f"revel cart submit: {message}", detail=data)
        order_id = expect(data, "data", "orderId", vendor=self.name)
        return Receipt(self.name, str(order_id), key, "open", ticket.total_minor, ticket.currency)

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        marker = f"ref {self.reference(key)}"
        start = since or datetime.now(UTC) - timedelta(days=1)
        orders = self._all("Order", {"establishment": str(self.establishment),
                                     "created_date__gte": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")})
        for o in orders:
            if marker in str(o.get("notes") or ""):
                total = o.get("final_total")
                return Receipt(self.name, str(o["id"]), key, "open",
                               from_decimal(total, self.currency) if total is not None else None, self.currency)
        return None

    def cancel(self, receipt: Receipt) -> None:
        raise PermanentError("revel: voiding an order through the API is not documented; void it at the register")

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        if not self.webhook_secret:
            raise SignatureError("revel: REVEL_WEBHOOK_SECRET is not set")
        h = lower_headers(headers)
        verify(h.get("x-revel-signature"), hmac_hex(self.webhook_secret, body, self.webhook_algo))
        event = h.get("x-revel-event-type", "")
        if event in ("inout.stock", "menu.updated"):
            return CatalogChange(self.name, str(self.establishment), resync=True, event_type=event)
        return None

    def close(self) -> None:
        self.http.close()
