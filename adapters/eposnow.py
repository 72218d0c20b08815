"""Epos Now: products in, v4 Transactions out. Money is decimal.

Endpoints (api.eposnowhq.com/api/v4; no published spec, shapes per NOTES.md):
  GET  /Product?page=N                     products (eat-in SalePrice, take-away EatOutPrice)
  GET  /Inventory/stocks?LocationID=       stock, when `track_stock` is on
  GET/POST /Customer                       customer find-or-create
  POST /Transaction                        the order; `ReferenceCode` + a "Reference" detail
  GET  /Transaction?page=N                 find by reference (newest pages first)
  DELETE /Transaction/{id}                 cancel
Auth: HTTP Basic with the API device's key and secret.

Nothing in Epos Now replays a repeated request, and a sample reply returned
`ReferenceCode` as null although it was sent, so the reference also travels as
a `TransactionDetails` name/value pair that `find` checks. The meanings of
`StatusId` and `ServiceType` are unconfirmed: they are sent only when the
merchant configures them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
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
from adapters.mapping import (
    Settings,
    fulfillment_time,
    line_note,
    modifier_quantity,
    phone_digits,
    sent_modifiers,
    split_name,
    unit_modifier_price,
)
from adapters.money import from_decimal, to_decimal
from adapters.signing import hmac_b64, reading, verify
from agi.catalog import Catalog, Item
from agi.tickets import FulfillmentType, Ticket

BASE_URL = "https://api.eposnowhq.com/api/v4"
PAGE = 200


class EposNowAdapter:
    name = "eposnow"
    # pos.credentials.<Playbook stem>.<name> in the worker config, else this environment variable.
    credentials = {
        "api_key": "EPOSNOW_API_KEY",
        "api_secret": "EPOSNOW_API_SECRET",
        "webhook_secret": "EPOSNOW_WEBHOOK_SECRET",
    }
    capabilities = Capabilities(bookings=False, deferred_payment=True, native_idempotency=False,
                                channel_tag="detail_field", catalog_webhooks=False)

    def __init__(self, settings: Mapping[str, str] | Settings, *, channel: str = "Phone", tz: str = "UTC",
                 currency: str = "GBP", timeout: float = 10.0, observer: RequestObserver | None = None,
                 transport=None, env: Mapping[str, str] | None = None):
        s = settings if isinstance(settings, Settings) else Settings(self.name, settings, env)
        self.settings = s
        self.channel = channel
        self.currency = currency
        self.tz = ZoneInfo(tz)
        key = s.secret("api_key", self.credentials["api_key"])
        secret = s.secret("api_secret", self.credentials["api_secret"])
        self._auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.webhook_secret = s.secret("webhook_secret", self.credentials["webhook_secret"], required=False)
        self.webhook_header = s.get("webhook_signature_header", "X-EposNow-Signature").lower()  # [UNCONFIRMED]
        self.price_list = s.get("price_list", "eat_out")  # take-away price for phone orders
        self.http = VendorHttp(self.name, s.get("base_url", BASE_URL), lambda: {"Authorization": self._auth},
                               timeout=s.number("timeout_s", timeout), transport=transport, observer=observer)
        self._known: set[int] = set()

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        try:
            return self.http.request(method, path, **kw)
        except VendorHttpError as exc:
            raise exc.permanent(f"eposnow {what}") from None

    def _pages(self, path: str, what: str, params: dict[str, str] | None = None, max_pages: int = 500) -> list:
        out: list = []
        for page in range(1, max_pages + 1):
            rows = self._call("GET", path, what, params={**(params or {}), "page": str(page)}) or []
            out += rows
            if len(rows) < PAGE:
                break
        return out

    # ------------------------------------------------------------- catalog

    def fetch_catalog(self) -> Catalog:
        products = self._pages("/Product", "products")
        stock: dict[int, Decimal] = {}
        if self.settings.flag("track_stock", False):
            location = self.settings.require("location_id", "stock is per location")
            for row in self._call("GET", "/Inventory/stocks", "stock", params={"LocationID": location}) or []:
                stock[int(row["ProductId"])] = Decimal(str(row.get("CurrentStock", 0)))
        items = []
        known: set[int] = set()
        for p in products:
            if p.get("IsArchived") or p.get("SellOnTill") is False or p.get("IsVariablePrice"):
                continue
            price = p.get("EatOutPrice") if self.price_list == "eat_out" else p.get("SalePrice")
            if price is None:
                price = p.get("SalePrice")
            if price is None:
                continue
            pid = int(p["Id"])
            known.add(pid)
            left = stock.get(pid)
            items.append(Item(id=str(pid), name=p.get("Name") or str(pid), price=from_decimal(price, self.currency),
                              category=str(p.get("CategoryId") or ""), available=left is None or left > 0))
        self._known = known
        return Catalog(currency=self.currency, items=items)

    # -------------------------------------------------------------- orders

    def _customer(self, ticket: Ticket) -> int | None:
        if not ticket.customer.phone or not self.settings.flag("customers", True):
            return None
        digits = phone_digits(ticket.customer.phone)
        found = self._call("GET", "/Customer", "customers", params={"search": ticket.customer.phone}) or []
        for c in found:
            if phone_digits(c.get("ContactNumber")) == digits:
                return int(c["Id"])
        first, last = split_name(ticket.customer.name)
        created = self._call("POST", "/Customer", "create customer", json_body={
            "Forename": first or "Guest", "Surname": last, "ContactNumber": ticket.customer.phone})
        return int(expect(created, "Id", vendor=self.name))

    def reference(self, key: str) -> str:
        return external_ref(key, 50)

    def _product(self, catalog_id: str, what: str) -> int:
        try:
            pid = int(catalog_id)
        except ValueError:
            raise PermanentError(f"eposnow: {what} id {catalog_id!r} is not an Epos Now product id") from None
        if self._known and pid not in self._known:
            raise PermanentError(f"eposnow: {what} {catalog_id} is not on sale")
        return pid

    def transaction_body(self, ticket: Ticket, key: str, customer_id: int | None) -> dict[str, Any]:
        if not self._known:
            self.fetch_catalog()
        cur = ticket.currency
        items = []
        for line in ticket.items:
            item: dict[str, Any] = {"ProductId": self._product(line.catalog_id, line.name),
                                    "Quantity": line.quantity, "UnitPrice": to_decimal(line.unit_price_minor, cur)}
            mods = [{"ProductId": self._product(m.catalog_id, m.name), "Quantity": modifier_quantity(m),
                     "UnitPrice": to_decimal(unit_modifier_price(m), cur)} for m in sent_modifiers(line)]
            if mods:
                item["MultipleChoiceItems"] = mods
            note = line_note(line)
            if note:
                item["Notes"] = note
            items.append(item)
        kind = ticket.fulfillment.type if ticket.fulfillment else FulfillmentType.PICKUP
        when = fulfillment_time(ticket, self.tz)
        details = [{"Name": "Channel", "Value": self.channel}, {"Name": "Reference", "Value": self.reference(key)},
                   {"Name": "Fulfilment", "Value": kind.value.replace("_", " ") +
                    (f" {when.at.strftime('%Y-%m-%d %H:%M')}" if when.at else " asap")},
                   {"Name": "Payment", "Value": ticket.payment.value.replace("_", " ")}]
        if ticket.customer.name or ticket.customer.phone:
            details.append({"Name": "Customer", "Value": " ".join(
                p for p in (ticket.customer.name, ticket.customer.phone) if p)})
        if ticket.fulfillment and ticket.fulfillment.address:
            details.append({"Name": "Address", "Value": ticket.fulfillment.address})
        body: dict[str, Any] = {"DateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                                "ReferenceCode": self.reference(key), "IsTransactionIncTax": True,
                                "TransactionItems": items, "TransactionDetails": details}
        if customer_id is not None:
            body["CustomerId"] = customer_id
        status = self.settings.get("status_id")
        if status:
            body["StatusId"] = int(status)
        service = self.settings.get(f"service_type.{kind.value}")
        if service:
            body["ServiceType"] = int(service)
        tender = self.settings.get(f"tender_type.{ticket.payment.value}")
        if tender:
            body["Tenders"] = [{"TenderTypeId": int(tender), "Amount": to_decimal(ticket.total_minor, cur)}]
        return body

    def submit(self, ticket: Ticket, key: str) -> Receipt:
        body = self.transaction_body(ticket, key, self._customer(ticket))
        return self._receipt(self._call("POST", "/Transaction", "create transaction", json_body=body), key)

    def _receipt(self, t: dict, key: str) -> Receipt:
        total = t.get("TotalAmount")
        return Receipt(self.name, str(expect(t, "Id", vendor=self.name)), key, "open",
                       from_decimal(total, self.currency) if total is not None else None, self.currency)

    def find(self, key: str, since: datetime | None = None) -> Receipt | None:
        ref = self.reference(key)
        pages = int(self.settings.number("find_pages", 5))
        for page in range(1, pages + 1):
            rows = self._call("GET", "/Transaction", "find transaction", params={"page": str(page)}) or []
            for t in rows:
                details = {d.get("Name"): d.get("Value") for d in t.get("TransactionDetails") or []}
                if t.get("ReferenceCode") == ref or details.get("Reference") == ref:
                    return self._receipt(t, key)
            if len(rows) < PAGE:
                return None
        return None

    def cancel(self, receipt: Receipt) -> None:
        self._call("DELETE", f"/Transaction/{receipt.order_id}", "delete transaction")

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None:
        """Webhooks are in beta and their signing is undocumented: a shared-secret HMAC is required."""
        if not self.webhook_secret:
            raise SignatureError("eposnow: EPOSNOW_WEBHOOK_SECRET is not set")
        verify(lower_headers(headers).get(self.webhook_header), hmac_b64(self.webhook_secret, body))
        with reading("eposnow"):
            loads(body)
        # Undated, without an event id: a re-sync, recognised on a retry by its body (agi.webhooks).
        return CatalogChange(self.name, self.settings.get("location_id"), resync=True, event_type="webhook")

    def close(self) -> None:
        self.http.close()

