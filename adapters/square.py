"""Square: Catalog + Inventory in, Orders (or Bookings) out, webhooks for changes.

Endpoints (Square-Version 2025-08-20, official OpenAPI spec):
  GET  /v2/catalog/list?types=ITEM,MODIFIER_LIST      catalog, cursor paging
  POST /v2/inventory/counts/batch-retrieve            stock of tracked variations
  POST /v2/customers/search, POST /v2/customers       customer find-or-create
  POST /v2/orders                                     CreateOrder (native idempotency_key)
  POST /v2/orders/search                              find by reference_id
  GET/PUT /v2/orders/{id}                             cancel (sparse update, needs version)
  GET  /v2/bookings/team-member-booking-profiles      staff names for bookings
  GET  /v2/catalog/object/{id}                        service variation version
  POST /v2/bookings                                   CreateBooking for appointment tickets
Webhooks: catalog.version.updated (re-sync), inventory.count.updated (stock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
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
from adapters.http import RequestObserver, VendorHttp, VendorHttpError, expect, loads
from adapters.mapping import Settings, fulfillment_time, line_note, order_note, rfc3339, sent_modifiers, split_name
from adapters.signing import event_time, hmac_b64, reading, verify
from agi.catalog import Catalog, Item, Modifier, ModifierGroup, Variation
from agi.tickets import FulfillmentType, Ticket, TicketKind

API_VERSION = "2025-08-20"
BASE_URL = "https://connect.squareup.com"


@dataclass
class _Index:
    """Square ids the order needs that the neutral catalog does not carry."""

    default_variation: dict[str, str] = field(default_factory=dict)  # item id -> variation id
    variation_version: dict[str, int] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)


class SquareAdapter:
    name = "square"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {"access_token": "SQUARE_ACCESS_TOKEN", "webhook_signature_key": "SQUARE_WEBHOOK_SIGNATURE_KEY"}
    capabilities = Capabilities(bookings=True, deferred_payment=True, native_idempotency=True,
                                channel_tag="native", catalog_webhooks=True)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 timeout: float = 10.0, observer: RequestObserver | None = None, transport=None,
                 env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.location_id = s.require("location_id")
        self.channel = channel
        self.tz = ZoneInfo(tz)
        self.token = s.secret("access_token", self.credentials["access_token"])
        self.webhook_key = s.secret("webhook_signature_key", self.credentials["webhook_signature_key"], required=False)
        self.webhook_url = s.get("webhook_url")
        self.prep_time = s.get("prep_time", "PT20M")
        self.version = s.get("square_version", API_VERSION)
        self.http = VendorHttp(self.name, s.get("base_url", BASE_URL), self._headers,
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._index = _Index()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Square-Version": self.version}

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        try:
            data = self.http.request(method, path, **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"square {what}") from None
        if isinstance(data, dict) and data.get("errors"):
            raise PermanentError(f"square {what}: {data['errors']}", detail=data["errors"])
        return data

    # ------------------------------------------------------------- catalog

    def _present(self, obj: dict) -> bool:
        if obj.get("is_deleted"):
            return False
        if obj.get("present_at_all_locations", True):
            return self.location_id not in obj.get("absent_at_location_ids", [])
        return self.location_id in obj.get("present_at_location_ids", [])

    def _override(self, data: dict) -> dict:
        for o in data.get("location_overrides", []):
            if o.get("location_id") == self.location_id:
                return o
        return {}

    def fetch_catalog(self) -> Catalog:
        objects: list[dict] = []
        cursor = None
        while True:
            params = {"types": "ITEM,MODIFIER_LIST"}
            if cursor:
                params["cursor"] = cursor
            page = self._call("GET", "/v2/catalog/list", "catalog", params=params) or {}
            objects += page.get("objects", [])
            cursor = page.get("cursor")
            if not cursor:
                break
        counts = self._stock(objects)
        currency = "USD"
        groups: dict[str, ModifierGroup] = {}
        lists = {o["id"]: o for o in objects if o.get("type") == "MODIFIER_LIST" and self._present(o)}
        index = _Index()
        for lid, obj in lists.items():
            data = obj.get("modifier_list_data", {})
            options = []
            for m in data.get("modifiers", []):
                md = m.get("modifier_data", {})
                ov = self._override(md)
                price = ov.get("price_money") or md.get("price_money") or {"amount": 0}
                currency = price.get("currency", currency)
                options.append(Modifier(id=m["id"], name=md.get("name") or m["id"], price_delta=int(price["amount"]),
                                        default=bool(md.get("on_by_default")),
                                        available=self._present(m) and not ov.get("sold_out", False)))
                index.known.add(m["id"])
            if options:
                groups[lid] = _group(lid, data.get("name") or lid, data, options)
        items: list[Item] = []
        for obj in objects:
            if obj.get("type") != "ITEM" or not self._present(obj):
                continue
            data = obj.get("item_data", {})
            if data.get("is_archived"):
                continue
            variations = []
            packs: set[int | None] = set()
            for v in sorted(data.get("variations", []), key=lambda v: v.get("item_variation_data", {}).get("ordinal", 0)):
                vd = v.get("item_variation_data", {})
                if not self._present(v) or vd.get("sellable") is False:
                    continue
                packs.add(_pack_size(vd))
                ov = self._override(vd)
                price = ov.get("price_money") or vd.get("price_money")
                if price is None:
                    continue  # VARIABLE_PRICING: a phone order cannot name its price
                currency = price.get("currency", currency)
                stock = counts.get(v["id"])
                available = not ov.get("sold_out", False) and (stock is None or stock > 0)
                variations.append(Variation(id=v["id"], name=vd.get("name") or "Regular", price=int(price["amount"]),
                                            available=available))
                index.variation_version[v["id"]] = int(v.get("version", 0))
                index.known.add(v["id"])
            if not variations:
                continue
            index.default_variation[obj["id"]] = variations[0].id
            index.known.add(obj["id"])
            group_ids = []
            for info in data.get("modifier_list_info", []):
                base = groups.get(info.get("modifier_list_id"))
                if base is None or info.get("enabled") is False:
                    continue
                if _has_limits(info):  # this item narrows the list's limits: its own group
                    gid = f"{base.id}@{obj['id']}"
                    groups[gid] = _group(gid, base.name, info, list(base.options), fallback=base)
                    group_ids.append(gid)
                else:
                    group_ids.append(base.id)
            items.append(Item(id=obj["id"], name=data.get("name") or obj["id"], description=data.get("description", ""),
                              variations=variations, default_variation=variations[0].id,
                              available=any(v.available for v in variations), modifier_groups=group_ids,
                              pack_size=packs.pop() if len(packs) == 1 else None))
        used = {g for i in items for g in i.modifier_groups}
        self._index = index
        version = str(max((int(o.get("version", 0)) for o in objects), default=0))
        return Catalog(currency=currency, version=version, items=items,
                       modifier_groups=[g for gid, g in groups.items() if gid in used])

    def _stock(self, objects: list[dict]) -> dict[str, Decimal]:
        tracked = [v["id"] for o in objects if o.get("type") == "ITEM"
                   for v in o.get("item_data", {}).get("variations", [])
                   if v.get("item_variation_data", {}).get("track_inventory")]
        counts: dict[str, Decimal] = {}
        for start in range(0, len(tracked), 1000):
            body: dict[str, Any] = {"catalog_object_ids": tracked[start:start + 1000],
                                    "location_ids": [self.location_id], "states": ["IN_STOCK"]}
            while True:
                page = self._call("POST", "/v2/inventory/counts/batch-retrieve", "inventory", json_body=body) or {}
                for c in page.get("counts", []):
                    if c.get("location_id") == self.location_id:
                        counts[c["catalog_object_id"]] = Decimal(str(c.get("quantity", "0")))
                if not page.get("cursor"):
                    break
                body["cursor"] = page["cursor"]
        for vid in tracked:
            counts.setdefault(vid, Decimal(0))  # tracked with no IN_STOCK count: none left
        return counts

    def _ensure_index(self) -> _Index:
        if not self._index.known:
            self.fetch_catalog()
        return self._index

    # -------------------------------------------------------------- orders

    def _customer_id(self, ticket: Ticket, key: str) -> str | None:
        phone = ticket.customer.phone
        if not phone:
            return None
        found = self._call("POST", "/v2/customers/search", "customer search",
                           json_body={"query": {"filter": {"phone_number": {"exact": phone}}}, "limit": 1}) or {}
        if found.get("customers"):
            return found["customers"][0]["id"]
        given, family = split_name(ticket.customer.name)
        body = {"idempotency_key": external_ref(key, 45, "cust-"), "phone_number": phone,
                "note": f"created from a {self.channel.lower()} order"}
        if given:
            body["given_name"] = given
        if family:
            body["family_name"] = family
        created = self._call("POST", "/v2/customers", "create customer", json_body=body)
        return expect(created, "customer", "id", vendor=self.name)

    def order_body(self, ticket: Ticket, key: str, customer_id: str | None) -> dict[str, Any]:
        index = self._ensure_index()
        money = lambda minor: {"amount": minor, "currency": ticket.currency}
        lines = []
        for n, line in enumerate(ticket.items, 1):
            li: dict[str, Any] = {"uid": f"line-{n}", "quantity": str(line.quantity)}
            target = line.variation_id or index.default_variation.get(line.catalog_id)
            if target and target in index.known:
                li["catalog_object_id"] = target
            else:  # not a Square catalog object: an ad hoc line at the ticket's price
                li["name"] = (line.variation_name + " " if line.variation_name else "") + line.name
                li["base_price_money"] = money(line.unit_price_minor)
            note = line_note(line)
            if note:
                li["note"] = note[:2000]
            mods = []
            for m in sent_modifiers(line):
                mod: dict[str, Any] = {"quantity": str(m.quantity), "base_price_money": money(m.price_minor)}
                if m.catalog_id in index.known:
                    mod["catalog_object_id"] = m.catalog_id
                else:
                    mod["name"] = m.name[:255]
                mods.append(mod)
            if mods:
                li["modifiers"] = mods
            lines.append(li)
        order: dict[str, Any] = {
            "location_id": self.location_id,
            "reference_id": external_ref(key, 40),
            "source": {"name": self.channel},
            "line_items": lines,
            "metadata": {"channel": self.channel.lower()[:255], "payment": ticket.payment.value},
        }
        if customer_id:
            order["customer_id"] = customer_id
        fulfillment = self._fulfillment(ticket, customer_id)
        if fulfillment:
            order["fulfillments"] = [fulfillment]
        return {"idempotency_key": key[:192], "order": order}

    def _fulfillment(self, ticket: Ticket, customer_id: str | None) -> dict[str, Any] | None:
        f = ticket.fulfillment
        if f is None or f.type is FulfillmentType.DINE_IN:
            return None
        recipient: dict[str, Any] = {}
        if customer_id:
            recipient["customer_id"] = customer_id
        if ticket.customer.name:
            recipient["display_name"] = ticket.customer.name[:255]
        if ticket.customer.phone:
            recipient["phone_number"] = ticket.customer.phone[:17]
        when = fulfillment_time(ticket, self.tz)
        if f.type is FulfillmentType.DELIVERY:
            if f.address:
                recipient["address"] = {"address_line_1": f.address[:500]}
            details: dict[str, Any] = {"recipient": recipient, "schedule_type": "ASAP" if when.asap else "SCHEDULED"}
            if when.at:
                details["deliver_at"] = rfc3339(when.at)
            else:
                details["prep_time_duration"] = self.prep_time
            return {"type": "DELIVERY", "state": "PROPOSED", "delivery_details": details}
        details = {"recipient": recipient, "schedule_type": "ASAP" if when.asap else "SCHEDULED",
                   "note": order_note(ticket, self.channel)[:500]}
        if when.at:
            details["pickup_at"] = rfc3339(when.at)
        else:
            details["prep_time_duration"] = self.prep_time
        return {"type": "PICKUP", "state": "PROPOSED", "pickup_details": details}

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        if ticket.kind is TicketKind.BOOKING and ticket.slots.get("start"):
            return self._book(ticket, key)
        customer_id = self._customer_id(ticket, key)
        data = self._call("POST", "/v2/orders", "create order", json_body=self.order_body(ticket, key, customer_id))
        order = expect(data, "order", vendor=self.name)
        return self._receipt(order, key)

    def _receipt(self, order: dict, key: str) -> Receipt:
        total = order.get("total_money") or {}
        return Receipt(self.name, expect(order, "id", vendor=self.name), key, str(order.get("state", "OPEN")).lower(),
                       total.get("amount"), total.get("currency"), {"version": order.get("version")})

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        ref = external_ref(key, 40)
        query: dict[str, Any] = {"filter": {"source_filter": {"source_names": [self.channel]}},
                                 "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"}}
        if since is not None:
            query["filter"]["date_time_filter"] = {"created_at": {"start_at": rfc3339(since)}}
        body: dict[str, Any] = {"location_ids": [self.location_id], "query": query, "limit": 100}
        while True:
            page = self._call("POST", "/v2/orders/search", "search orders", json_body=body) or {}
            for order in page.get("orders", []):
                if order.get("reference_id") == ref:
                    return self._receipt(order, key)
            if not page.get("cursor"):
                return None
            body["cursor"] = page["cursor"]

    def cancel(self, receipt: Receipt) -> None:
        if receipt.extra.get("kind") == "booking":
            current = self._call("GET", f"/v2/bookings/{receipt.order_id}", "get booking")
            version = expect(current, "booking", "version", vendor=self.name)
            self._call("POST", f"/v2/bookings/{receipt.order_id}/cancel", "cancel booking",
                       json_body={"idempotency_key": external_ref(receipt.idempotency_key, 255, "cancel-"),
                                  "booking_version": version})
            return
        current = self._call("GET", f"/v2/orders/{receipt.order_id}", "get order")
        version = expect(current, "order", "version", vendor=self.name)
        self._call("PUT", f"/v2/orders/{receipt.order_id}", "cancel order",
                   json_body={"idempotency_key": external_ref(receipt.idempotency_key, 192, "cancel-"),
                              "order": {"location_id": self.location_id, "version": version, "state": "CANCELED"}})

    # ------------------------------------------------------------ bookings

    def _book(self, ticket: Ticket, key: str) -> Receipt:
        index = self._ensure_index()
        line = ticket.items[0] if ticket.items else None
        if line is None:
            raise PermanentError("square booking: the ticket names no service")
        variation = line.variation_id or index.default_variation.get(line.catalog_id)
        if not variation:
            raise PermanentError(f"square booking: '{line.name}' is not a Square service")
        version = index.variation_version.get(variation)
        if not version:
            obj = self._call("GET", f"/v2/catalog/object/{variation}", "service")
            version = int(expect(obj, "object", "version", vendor=self.name))
        when = fulfillment_time(ticket, self.tz)
        if when.at is None:
            raise PermanentError("square booking: the ticket has no start time")
        segment: dict[str, Any] = {"service_variation_id": variation, "service_variation_version": version,
                                   "team_member_id": self._team_member(str(ticket.slots.get("staff") or ""))}
        if ticket.slots.get("duration_min"):
            segment["duration_minutes"] = int(ticket.slots["duration_min"])
        booking: dict[str, Any] = {"location_id": self.location_id, "start_at": rfc3339(when.at),
                                   "appointment_segments": [segment],
                                   "customer_note": order_note(ticket, self.channel)[:4096]}
        customer_id = self._customer_id(ticket, key)
        if customer_id:
            booking["customer_id"] = customer_id
        data = self._call("POST", "/v2/bookings", "create booking",
                          json_body={"idempotency_key": key[:255], "booking": booking})
        b = expect(data, "booking", vendor=self.name)
        return Receipt(self.name, expect(b, "id", vendor=self.name), key, str(b.get("status", "PENDING")).lower(),
                       ticket.total_minor, ticket.currency, {"kind": "booking", "version": b.get("version")})

    def _team_member(self, staff: str) -> str:
        configured = self.settings.mapping("team_member")
        if staff and staff in configured:
            return configured[staff]
        data = self._call("GET", "/v2/bookings/team-member-booking-profiles", "team members",
                          params={"bookable_only": "true", "location_id": self.location_id}) or {}
        profiles = data.get("team_member_booking_profiles", [])
        for p in profiles:
            if staff and str(p.get("display_name", "")).strip().lower() == staff.strip().lower():
                return p["team_member_id"]
        if staff:
            raise PermanentError(f"square booking: no bookable team member named {staff!r}")
        if not profiles:
            raise PermanentError("square booking: the location has no bookable team member")
        return profiles[0]["team_member_id"]

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        """Signature: base64 HMAC-SHA256 of notification URL + body, keyed with the subscription's key."""
        if not self.webhook_key or not self.webhook_url:
            raise SignatureError("square: webhook_signature_key (env) and settings.webhook_url are needed")
        h = lower_headers(headers)
        verify(h.get("x-square-hmacsha256-signature"), hmac_b64(self.webhook_key, self.webhook_url.encode() + body))
        with reading("square"):
            event = loads(body)
            etype = event["type"]
            stamp = {"event_id": str(event.get("event_id") or "") or None, "event_type": str(etype),
                     "occurred_at": event_time(event.get("created_at"))}
            if etype == "catalog.version.updated":
                return CatalogChange(self.name, self.location_id, resync=True, **stamp)
            if etype != "inventory.count.updated":
                return None
            counts = ((event.get("data") or {}).get("object") or {}).get("inventory_counts") or []
            changes = {}
            for c in counts:
                if c.get("location_id") == self.location_id and c.get("state") == "IN_STOCK":
                    changes[str(c["catalog_object_id"])] = Decimal(str(c.get("quantity", "0"))) > 0
        if not changes:
            return None
        return CatalogChange(self.name, self.location_id, changes, **stamp)

    def close(self) -> None:
        self.http.close()


def _pack_size(variation_data: dict) -> int | None:
    """Pieces one unit of a variation holds, from its stock conversion: a "4 pack" sold
    while the single bulb is what is stocked converts 1 sold to 4 stocked. Only a whole
    number of two or more is a pack (a glass is a fifth of a bottle, not a pack)."""
    conversion = variation_data.get("stockable_conversion") or {}
    try:
        ratio = Decimal(str(conversion["stockable_quantity"])) / Decimal(str(conversion["nonstockable_quantity"]))
    except (KeyError, ArithmeticError, ValueError):
        return None
    return int(ratio) if ratio >= 2 and ratio == ratio.to_integral_value() else None


def _has_limits(info: dict) -> bool:
    return any(info.get(k, -1) not in (-1, None) for k in ("min_selected_modifiers", "max_selected_modifiers"))


def _group(gid: str, name: str, limits: dict, options: list[Modifier], fallback: ModifierGroup | None = None
           ) -> ModifierGroup:
    """Square's -1 means unset; min 0 is optional, max 0 is no limit."""
    low = limits.get("min_selected_modifiers", -1)
    high = limits.get("max_selected_modifiers", -1)
    min_ = int(low) if low not in (-1, None) else (fallback.min if fallback else 0)
    if high in (-1, None):
        max_ = fallback.max if fallback else (1 if limits.get("selection_type") == "SINGLE" else None)
    else:
        max_ = int(high) or None
    if max_ is not None:
        max_ = max(max_, min_, 1)
    return ModifierGroup(id=gid, name=name, min=max(0, min_), max=max_, options=options)

