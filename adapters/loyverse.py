"""Loyverse: items, modifiers and inventory in, receipts out. Money is decimal.

Endpoints (api.loyverse.com/v1.0; no published spec, shapes per NOTES.md):
  GET  /items, /modifiers, /inventory                 catalog and stock (cursor paging)
  GET/POST /customers                                 customer find-or-create
  POST /receipts                                      the sale (`order` carries our reference)
  GET  /receipts?created_at_min=...                   find by `order`
  POST /receipts/{number}/refund                      cancel
Webhooks: items.update (re-sync), inventory_levels.update (stock at once),
signed with HMAC-SHA1 of the body.

A Loyverse receipt is a completed sale: there is no open order. A phone order
that is paid at pickup is recorded with the merchant's own "pay at pickup"
payment type (settings `payment_type.pay_at_pickup`), a merchant's choice and
not a Loyverse feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.base import (
    Capabilities,
    CatalogChange,
    ConfigurationError,
    PermanentError,
    Receipt,
    SignatureError,
    external_ref,
    lower_headers,
)
from adapters.http import RequestObserver, VendorHttp, VendorHttpError, expect, loads
from adapters.mapping import Settings, line_note, modifier_quantity, order_note, phone_digits, sent_modifiers
from adapters.money import from_decimal, to_decimal
from adapters.signing import event_time, hmac_b64, hmac_hex, reading, verify
from agi.catalog import Catalog, Item, Modifier, ModifierGroup, Variation
from agi.tickets import FulfillmentType, Ticket

BASE_URL = "https://api.loyverse.com/v1.0"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class LoyverseAdapter:
    name = "loyverse"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {"access_token": "LOYVERSE_ACCESS_TOKEN", "client_secret": "LOYVERSE_CLIENT_SECRET"}
    capabilities = Capabilities(bookings=False, deferred_payment=False, native_idempotency=False,
                                channel_tag="native", catalog_webhooks=True)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 currency: str = "USD", timeout: float = 10.0, observer: RequestObserver | None = None,
                 transport=None, env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.store = s.require("store_id")
        self.channel = channel
        self.currency = currency
        self.token = s.secret("access_token", self.credentials["access_token"])
        self.webhook_secret = s.secret("client_secret", self.credentials["client_secret"], required=False)
        self.webhook_header = s.get("webhook_signature_header", "X-Loyverse-Signature").lower()  # [UNCONFIRMED]
        self.webhook_encoding = s.get("webhook_signature_encoding", "base64")  # [UNCONFIRMED]
        self.send_modifiers = s.flag("send_line_modifiers", True)  # request shape [UNCONFIRMED]
        self.http = VendorHttp(self.name, s.get("base_url", BASE_URL), self._headers,
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._variants: dict[str, str] = {}  # item id -> first variant id
        self._known: set[str] = set()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        try:
            return self.http.request(method, path, **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"loyverse {what}") from None

    def _pages(self, path: str, key: str, what: str, params: dict[str, str] | None = None,
               max_pages: int = 1000) -> list[dict]:
        out: list[dict] = []
        q = {"limit": "250", **(params or {})}
        for _ in range(max_pages):
            page = self._call("GET", path, what, params=q) or {}
            out += page.get(key, [])
            if not page.get("cursor"):
                break
            q["cursor"] = page["cursor"]
        return out

    # ------------------------------------------------------------- catalog

    def fetch_catalog(self) -> Catalog:
        raw_items = [i for i in self._pages("/items", "items", "items") if not i.get("deleted_at")]
        raw_mods = [m for m in self._pages("/modifiers", "modifiers", "modifiers") if not m.get("deleted_at")]
        tracked = [v["variant_id"] for i in raw_items if i.get("track_stock") for v in i.get("variants", [])]
        stock: dict[str, Decimal] = {}
        for start in range(0, len(tracked), 250):
            levels = self._pages("/inventory", "inventory_levels", "inventory", {
                "store_ids": self.store, "variant_ids": ",".join(tracked[start:start + 250])})
            stock |= {lv["variant_id"]: Decimal(str(lv.get("in_stock", 0))) for lv in levels
                      if lv.get("store_id") == self.store}
        known: set[str] = set()
        groups: dict[str, ModifierGroup] = {}
        for m in raw_mods:
            stores = {s.get("store_id"): s for s in m.get("stores", [])}
            if stores and self.store in stores and stores[self.store].get("is_available") is False:
                continue
            options = [Modifier(id=o["id"], name=o.get("name") or o["id"],
                                price_delta=from_decimal(o.get("price") or 0, self.currency))
                       for o in sorted(m.get("modifier_options", []), key=lambda o: o.get("position", 0))]
            known |= {o.id for o in options}
            if options:
                # Loyverse has no min/max for modifiers: merchant settings fill them.
                low = int(self.settings.number(f"modifier_min.{m['id']}", 0))
                high = self.settings.get(f"modifier_max.{m['id']}")
                groups[m["id"]] = ModifierGroup(id=m["id"], name=m.get("name") or m["id"], min=low,
                                                max=max(int(high), low, 1) if high else None, options=options)
        items = []
        variants: dict[str, str] = {}
        for it in raw_items:
            variations = []
            for v in it.get("variants", []):
                at = next((s for s in v.get("stores", []) if s.get("store_id") == self.store), None)
                if at is None or at.get("pricing_type", v.get("default_pricing_type")) == "VARIABLE":
                    continue
                price = at.get("price", v.get("default_price"))
                if price is None:
                    continue
                name = " ".join(str(v[k]) for k in ("option1_value", "option2_value", "option3_value") if v.get(k))
                in_stock = stock.get(v["variant_id"])
                variations.append(Variation(id=v["variant_id"], name=name or "Regular",
                                            price=from_decimal(price, self.currency),
                                            available=at.get("available_for_sale", True) is not False
                                            and (in_stock is None or in_stock > 0)))
            if not variations:
                continue
            variants[it["id"]] = variations[0].id
            known |= {it["id"], *(v.id for v in variations)}
            items.append(Item(id=it["id"], name=it.get("item_name") or it["id"], variations=variations,
                              default_variation=variations[0].id, available=any(v.available for v in variations),
                              modifier_groups=[g for g in it.get("modifier_ids", []) if g in groups]))
        self._variants, self._known = variants, known
        used = {g for i in items for g in i.modifier_groups}
        return Catalog(currency=self.currency, items=items,
                       modifier_groups=[g for gid, g in groups.items() if gid in used])

    # -------------------------------------------------------------- orders

    def _customer(self, ticket: Ticket) -> str | None:
        phone = ticket.customer.phone
        if not phone or not self.settings.flag("customers", True):
            return None
        digits = phone_digits(phone)
        pages = int(self.settings.number("customer_scan_pages", 4))
        for c in self._pages("/customers", "customers", "customers", max_pages=pages):
            if phone_digits(c.get("phone_number")) == digits:
                return c["id"]
        created = self._call("POST", "/customers", "create customer", json_body={
            "name": ticket.customer.name or f"{self.channel} caller", "phone_number": phone,
            "note": f"created from a {self.channel.lower()} order"})
        return expect(created, "id", vendor=self.name)

    def reference(self, key: str) -> str:
        return external_ref(key, 64)

    def _payment_type(self, ticket: Ticket) -> str:
        chosen = self.settings.get(f"payment_type.{ticket.payment.value}") or self.settings.get("payment_type_id")
        if not chosen:
            raise ConfigurationError(f"loyverse: set pos.settings.payment_type.{ticket.payment.value} (a receipt "
                                     "is a completed sale and needs the merchant's payment type)")
        return chosen

    def receipt_body(self, ticket: Ticket, key: str, customer_id: str | None) -> dict[str, Any]:
        if not self._known:
            self.fetch_catalog()
        lines = []
        for line in ticket.items:
            variant = line.variation_id or self._variants.get(line.catalog_id)
            if not variant or variant not in self._known:
                raise PermanentError(f"loyverse: '{line.name}' ({line.catalog_id}) is not sold at this store")
            li: dict[str, Any] = {"variant_id": variant, "quantity": line.quantity,
                                  "price": to_decimal(line.unit_price_minor, ticket.currency)}
            note = line_note(line)
            if note:
                li["line_note"] = note
            if self.send_modifiers:
                mods = [{"modifier_option_id": m.catalog_id} for m in sent_modifiers(line)
                        for _ in range(modifier_quantity(m))]
                if mods:
                    li["line_modifiers"] = mods
            else:  # modifiers priced into the line when the merchant turns line_modifiers off
                li["price"] = to_decimal(line.line_total() // line.quantity, ticket.currency)
            lines.append(li)
        body: dict[str, Any] = {
            "store_id": self.store, "source": self.channel, "order": self.reference(key),
            "note": order_note(ticket, self.channel), "line_items": lines,
            "payments": [{"payment_type_id": self._payment_type(ticket),
                          "money_amount": to_decimal(ticket.total_minor, ticket.currency)}],
        }
        kind = ticket.fulfillment.type if ticket.fulfillment else FulfillmentType.PICKUP
        dining = self.settings.get(f"dining_option.{kind.value}")  # [UNCONFIRMED] on requests
        if dining:
            body["dining_option"] = dining
        if customer_id:
            body["customer_id"] = customer_id
        return body

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        body = self.receipt_body(ticket, key, self._customer(ticket))
        return self._receipt(self._call("POST", "/receipts", "create receipt", json_body=body), key)

    def _receipt(self, r: dict, key: str) -> Receipt:
        total = r.get("total_money")
        return Receipt(self.name, str(expect(r, "receipt_number", vendor=self.name)), key,
                       "canceled" if r.get("cancelled_at") else "completed",
                       from_decimal(total, self.currency) if total is not None else None, self.currency,
                       {"receipt_date": r.get("receipt_date"), "line_items": [
                           {"id": li["id"], "quantity": li.get("quantity", 1)} for li in r.get("line_items", [])
                           if "id" in li]})

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        ref = self.reference(key)
        start = since or datetime.now(UTC) - timedelta(days=1)
        params = {"store_id": self.store, "created_at_min": _iso(start), "limit": "250"}
        while True:
            page = self._call("GET", "/receipts", "find receipt", params=params) or {}
            for r in page.get("receipts", []):
                if r.get("order") == ref and r.get("receipt_type", "SALE") == "SALE":
                    return self._receipt(r, key)
            if not page.get("cursor"):
                return None
            params["cursor"] = page["cursor"]

    def cancel(self, receipt: Receipt) -> None:
        self._call("POST", f"/receipts/{receipt.order_id}/refund", "refund", json_body={
            "store_id": self.store, "source": self.channel, "receipt_date": receipt.extra.get("receipt_date"),
            "line_items": receipt.extra.get("line_items", [])})

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        """HMAC-SHA1 of the body keyed with the OAuth client secret."""
        if not self.webhook_secret:
            raise SignatureError("loyverse: LOYVERSE_CLIENT_SECRET is not set")
        sign = hmac_b64 if self.webhook_encoding == "base64" else hmac_hex
        verify(lower_headers(headers).get(self.webhook_header), sign(self.webhook_secret, body, "sha1"))
        with reading("loyverse"):
            event = loads(body)
            etype = str(event["type"])
            # No event id: the endpoint knows a retry by its body.
            at = event_time(event.get("created_at"))
            if etype == "items.update":
                return CatalogChange(self.name, self.store, resync=True, event_type=etype, occurred_at=at)
            if etype != "inventory_levels.update":
                return None
            changes = {str(lv["variant_id"]): Decimal(str(lv.get("in_stock", 0))) > 0
                       for lv in event.get("inventory_levels", []) if lv.get("store_id") == self.store}
        return CatalogChange(self.name, self.store, changes, event_type=etype, occurred_at=at) if changes else None

    def close(self) -> None:
        self.http.close()
