"""Square adapter against a fake that enforces Square's official OpenAPI spec."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import jsonschema
import pytest
from pos_fakes import spec
from pos_fakes.square import TOKEN, FakeSquare, variation
from pos_fakes.tickets import booking, line, mod, order

from adapters.base import PermanentError, Receipt, SignatureError, TransientError
from adapters.signing import hmac_b64
from adapters.square import SquareAdapter
from agi.outbox import Outbox, RetryPolicy
from agi.tickets import FulfillmentType, Qualifier

WEBHOOK_URL = "https://example.test/hooks/square"
SIG_KEY = "sig-key-123"


@pytest.fixture
def fake():
    f = FakeSquare().start()
    yield f
    f.stop()
    assert f.violations == [], "requests that break the published Square spec"


def make(fake: FakeSquare, token: str = TOKEN, **settings: str) -> SquareAdapter:
    values = {"location_id": "L1", "base_url": fake.url, "timeout_s": "5", "webhook_url": WEBHOOK_URL, **settings}
    return SquareAdapter(values, tz="America/New_York",
                         env={"SQUARE_ACCESS_TOKEN": token, "SQUARE_WEBHOOK_SIGNATURE_KEY": SIG_KEY})


def pizza_ticket():
    return order([
        line("PIZZA", "pepperoni pizza", 1599, 2, ("PIZZA-L", "Large"),
             [mod("MUSHROOM", "mushrooms", 200, Qualifier.EXTRA), mod("ONION", "onions", 0, Qualifier.NO)]),
        line("SODA", "soda", 250, 1),
    ])


def test_catalog_is_normalised_per_location(fake):
    catalog = make(fake).fetch_catalog()
    assert [i.id for i in catalog.items] == ["PIZZA", "SODA", "HAIRCUT"]  # SALAD is only sold at L2
    pizza = catalog.item("PIZZA")
    assert [(v.id, v.price) for v in pizza.variations] == [("PIZZA-S", 1099), ("PIZZA-L", 1599)]
    groups = catalog.groups_of(pizza)
    assert [(g.min, g.max) for g in groups] == [(0, 3)]  # the item's own max overrides the list's
    toppings = {m.id: m for m in groups[0].options}
    assert toppings["ONION"].price_delta == 75
    assert not toppings["JALAPENO"].available  # sold_out at this location
    assert catalog.is_available("SODA", "SODA-R")
    assert len(fake.calls("GET", "/v2/catalog/list")) > 1  # followed the cursor


def test_pack_size_comes_from_the_stock_conversion(fake):
    """A four pack sold while single bulbs are stocked holds four pieces; wine by the
    glass (a fifth of the bottle stocked) is no pack; an item whose variations hold
    different counts has no one pack size."""

    def converted(vid, item_id, name, cents, stocked, sold, single):
        v = variation(vid, item_id, name, cents)
        v["item_variation_data"]["stockable_conversion"] = {
            "stockable_item_variation_id": single, "stockable_quantity": stocked, "nonstockable_quantity": sold}
        return v

    single = variation("BULB-1", "BULBS", "Single", 400)
    single["item_variation_data"]["sellable"] = False
    fake.objects += [
        {"type": "ITEM", "id": "BULBS", "version": 2, "present_at_all_locations": True,
         "item_data": {"name": "LED Bulbs", "variations": [
             single, converted("BULB-4", "BULBS", "4 Pack", 1299, "4", "1", "BULB-1")]}},
        {"type": "ITEM", "id": "WINE", "version": 2, "present_at_all_locations": True,
         "item_data": {"name": "House Red", "variations": [
             variation("WINE-B", "WINE", "Bottle", 3000),
             converted("WINE-G", "WINE", "Glass", 900, "1", "5", "WINE-B")]}},
        {"type": "ITEM", "id": "WINGS", "version": 2, "present_at_all_locations": True,
         "item_data": {"name": "Wings", "variations": [
             converted("WINGS-6", "WINGS", "6 piece", 899, "6", "1", "WINGS-1"),
             converted("WINGS-12", "WINGS", "12 piece", 1599, "12", "1", "WINGS-1")]}},
    ]
    catalog = make(fake).fetch_catalog()
    assert catalog.item("BULBS").pack_size == 4
    assert catalog.item("WINE").pack_size is None
    assert catalog.item("WINGS").pack_size is None
    assert catalog.item("SODA").pack_size is None


def test_tracked_variation_with_no_stock_is_unavailable(fake):
    fake.stock["SODA-R"] = "0"
    assert not make(fake).fetch_catalog().is_available("SODA")


def test_order_carries_channel_fulfillment_customer_and_modifier_prices(fake):
    adapter = make(fake)
    ticket = pizza_ticket()
    receipt = adapter.submit(ticket, "call-0001-commit")
    sent = fake.calls("POST", "/v2/orders")[0].json()
    assert sent["idempotency_key"] == "call-0001-commit"
    o = sent["order"]
    assert o["source"] == {"name": "Phone"}
    assert o["reference_id"] == "call-0001-commit"
    first = o["line_items"][0]
    assert first["catalog_object_id"] == "PIZZA-L" and first["quantity"] == "2"
    assert first["modifiers"] == [{"quantity": "1", "base_price_money": {"amount": 200, "currency": "USD"},
                                   "catalog_object_id": "MUSHROOM"}]  # extra = double price; "no onions" is a note
    assert "no onions" in first["note"] and "extra mushrooms" in first["note"]
    assert o["line_items"][1]["catalog_object_id"] == "SODA-R"  # the item's only variation
    f = o["fulfillments"][0]
    assert f["type"] == "PICKUP" and f["pickup_details"]["schedule_type"] == "SCHEDULED"
    assert f["pickup_details"]["pickup_at"].endswith("18:30:00-05:00") or f["pickup_details"]["pickup_at"].endswith(
        "18:30:00-04:00")
    assert f["pickup_details"]["recipient"]["phone_number"] == "+15551234567"
    assert o["customer_id"] == fake.customers[0]["id"] and fake.customers[0]["given_name"] == "Ann"
    # The POS priced the order exactly as the ticket did.
    assert receipt.total_minor == ticket.total_minor == 2 * (1599 + 200) + 250
    assert receipt.order_id in fake.orders


def test_existing_customer_is_reused(fake):
    fake.customers.append({"id": "CUST-OLD", "phone_number": "+15551234567"})
    make(fake).submit(pizza_ticket(), "k-existing")
    assert [r.path for r in fake.calls("POST", "/v2/customers")] == ["/v2/customers/search"]
    assert fake.calls("POST", "/v2/orders")[0].json()["order"]["customer_id"] == "CUST-OLD"


def test_delivery_asap(fake):
    t = order([line("SODA", "soda", 250)], kind=FulfillmentType.DELIVERY, time=None, address="1 Main St")
    make(fake).submit(t, "k-delivery")
    f = fake.calls("POST", "/v2/orders")[0].json()["order"]["fulfillments"][0]
    assert f["type"] == "DELIVERY" and f["delivery_details"]["schedule_type"] == "ASAP"
    assert f["delivery_details"]["recipient"]["address"]["address_line_1"] == "1 Main St"


def test_replayed_key_returns_the_first_order(fake):
    adapter = make(fake)
    a = adapter.submit(pizza_ticket(), "k-replay")
    b = adapter.submit(pizza_ticket(), "k-replay")
    assert a.order_id == b.order_id and len(fake.orders) == 1


def test_rate_limit_honours_retry_after(fake):
    fake.fail("429", method="POST", path="/v2/orders", retry_after="7")
    with pytest.raises(TransientError) as err:
        make(fake).submit(pizza_ticket(), "k-429")
    assert err.value.retry_after == 7 and not err.value.maybe_applied and err.value.kind == "http_429"
    assert not fake.orders


def test_server_error_may_have_applied(fake):
    fake.fail("500", method="POST", path="/v2/orders", after=True)
    with pytest.raises(TransientError) as err:
        make(fake).submit(pizza_ticket(), "k-500")
    assert err.value.maybe_applied and err.value.kind == "http_5xx"


def test_malformed_reply_is_transient(fake):
    fake.fail("malformed", method="POST", path="/v2/orders", after=True)
    with pytest.raises(TransientError) as err:
        make(fake).submit(pizza_ticket(), "k-bad-json")
    assert err.value.kind == "invalid" and err.value.maybe_applied


def test_timeout_then_outbox_retry_makes_one_order(fake, tmp_path):
    fake.fail("timeout", method="POST", path="/v2/orders", after=True, delay=1.5)
    adapter = make(fake, timeout_s="0.5")
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(pizza_ticket(), "k-timeout", adapter.name)
    box.deliver_pending(adapter, keys=["k-timeout"], wait_s=10)
    receipt = box.receipt("k-timeout")
    assert receipt is not None and len(fake.orders) == 1 and receipt.order_id in fake.orders
    assert box.get("k-timeout").attempts == 2


def test_validation_error_goes_to_dead_letter(fake, tmp_path, caplog):
    adapter = make(fake)
    bad = order([line("GONE", "ghost item", 500, variation=("NO-SUCH-VARIATION", "x"))])
    adapter.fetch_catalog()
    adapter._index.known.add("NO-SUCH-VARIATION")  # the catalog changed after the call began
    with pytest.raises(PermanentError) as err:
        adapter.submit(bad, "k-400")
    assert err.value.status == 400
    box = Outbox(tmp_path / "o.sqlite3")
    dead: list[str] = []
    box.on_dead_letter.append(lambda row, reason: dead.append(row.key))
    box.enqueue(bad, "k-400b", adapter.name)
    with caplog.at_level(logging.ERROR, logger="callticket.outbox"):
        box.deliver_pending(adapter)
    assert box.get("k-400b").state == "dead" and dead == ["k-400b"]
    assert any(r.getMessage() == "outbox dead letter" for r in caplog.records)


def test_wrong_token_is_refused(fake):
    with pytest.raises(PermanentError) as err:
        make(fake, token="stolen").fetch_catalog()
    assert err.value.status == 401


def test_find_by_reference_and_cancel(fake):
    adapter = make(fake)
    for n in range(5):  # other phone orders, so find must page
        adapter.submit(order([line("SODA", "soda", 250)]), f"other-{n}")
    mine = adapter.submit(pizza_ticket(), "k-find")
    assert adapter.find("k-find") == mine
    assert adapter.find("never-sent") is None
    adapter.cancel(mine)
    assert fake.orders[mine.order_id]["state"] == "CANCELED"


def test_booking_uses_bookings_api(fake):
    adapter = make(fake)
    t = booking("HAIRCUT", "men's haircut", 3500, "Marco", "2026-11-21T11:00-05:00")
    receipt = adapter.submit(t, "k-book")
    sent = fake.calls("POST", "/v2/bookings")[0].json()
    seg = sent["booking"]["appointment_segments"][0]
    assert seg == {"service_variation_id": "HAIRCUT-30", "service_variation_version": 11,
                   "team_member_id": "TM-MARCO"}
    assert sent["booking"]["start_at"] == "2026-11-21T11:00:00-05:00"
    assert receipt.extra["kind"] == "booking" and receipt.order_id in fake.bookings
    assert not fake.orders


def _signed(event: dict) -> tuple[dict[str, str], bytes]:
    body = json.dumps(event).encode()
    return {"X-Square-HmacSha256-Signature": hmac_b64(SIG_KEY, WEBHOOK_URL.encode() + body)}, body


def _valid_event(event: dict, schema_name: str) -> None:
    schema, registry = spec.square_schema(schema_name)
    jsonschema.Draft202012Validator(schema, registry=registry).validate(event)


def test_inventory_webhook_marks_variation_out(fake):
    event = {"merchant_id": "M1", "type": "inventory.count.updated", "event_id": "e1",
             "created_at": "2026-01-01T00:00:00Z",
             "data": {"type": "inventory_counts", "id": "x", "object": {"inventory_counts": [
                 {"catalog_object_id": "SODA-R", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
                  "location_id": "L1", "quantity": "0", "calculated_at": "2026-01-01T00:00:00Z"}]}}}
    _valid_event(event, "InventoryCountUpdatedEvent")
    change = make(fake).parse_webhook(*_signed(event))
    assert change.availability == {"SODA-R": False} and not change.resync


def test_catalog_webhook_asks_for_resync(fake):
    event = {"merchant_id": "M1", "type": "catalog.version.updated", "event_id": "e2",
             "created_at": "2026-01-01T00:00:00Z",
             "data": {"type": "catalog_version", "id": "", "object": {
                 "catalog_version": {"updated_at": "2026-01-01T00:00:00Z"}}}}
    _valid_event(event, "CatalogVersionUpdatedEvent")
    assert make(fake).parse_webhook(*_signed(event)).resync


def test_forged_webhook_is_rejected(fake):
    headers, body = _signed({"type": "inventory.count.updated"})
    with pytest.raises(SignatureError):
        make(fake).parse_webhook(headers, body + b" ")
    with pytest.raises(SignatureError):
        make(fake).parse_webhook({}, body)


def test_money_is_exact(fake):
    receipt = make(fake).submit(order([line("SODA", "soda", 250, 3)]), "k-money")
    assert isinstance(receipt.total_minor, int) and receipt.total_minor == 750
    assert Receipt.from_json(receipt.to_json()) == receipt
    assert Decimal(fake.stock["SODA-R"]) == 12
