"""Loyverse adapter against a fake that follows the documented shapes (no published spec)."""

from __future__ import annotations

import json

import pytest
from pos_fakes import loyverse as L
from pos_fakes.tickets import line, mod, order

from adapters.base import ConfigurationError, PermanentError, SignatureError, TransientError
from adapters.loyverse import LoyverseAdapter
from adapters.signing import hmac_b64
from agi.outbox import Outbox, RetryPolicy
from agi.tickets import Qualifier

SECRET = "loyverse-client-secret"


@pytest.fixture
def fake():
    f = L.FakeLoyverse().start()
    yield f
    f.stop()
    assert f.violations == [], "requests outside Loyverse's documented shapes"


def make(fake, **settings: str) -> LoyverseAdapter:
    values = {"store_id": L.STORE, "base_url": fake.url, "timeout_s": "5",
              "payment_type.pay_at_pickup": L.PAY_LATER, "modifier_max.md-salsa": "1", **settings}
    return LoyverseAdapter(values, env={"LOYVERSE_ACCESS_TOKEN": L.TOKEN, "LOYVERSE_CLIENT_SECRET": SECRET})


def taco_ticket():
    return order([line("it-taco", "taco", 350, 3, ("va-taco-beef", "beef"),
                       [mod("mo-verde", "salsa verde", 100, Qualifier.EXTRA)]),
                  line("it-horchata", "horchata", 275, 1)])


def test_catalog_store_prices_and_stock(fake):
    catalog = make(fake).fetch_catalog()
    assert {i.id for i in catalog.items} == {"it-taco", "it-horchata", "it-flan"}  # pozole: other store
    taco = catalog.item("it-taco")
    assert [(v.id, v.price, v.available) for v in taco.variations] == [
        ("va-taco-beef", 350, True), ("va-taco-fish", 425, False)]
    salsa = catalog.groups_of(taco)[0]
    assert (salsa.min, salsa.max) == (0, 1)  # from merchant settings: Loyverse has no limits
    assert {m.id: m.price_delta for m in salsa.options} == {"mo-verde": 50, "mo-roja": 35}
    assert not catalog.is_available("it-flan")  # tracked, 0 in stock
    assert catalog.is_available("it-horchata")


def test_receipt_carries_source_order_reference_and_exact_decimals(fake):
    ticket = taco_ticket()
    r = make(fake).submit(ticket, "call-3")
    body = fake.calls("POST", "/receipts")[0].json()
    assert body["source"] == "Phone" and body["order"] == "call-3"
    assert body["line_items"][0] == {"variant_id": "va-taco-beef", "quantity": 3, "price": 3.5,
                                     "line_note": "extra salsa verde",
                                     "line_modifiers": [{"modifier_option_id": "mo-verde"}] * 2}
    assert body["line_items"][1]["variant_id"] == "va-horchata"  # the item's only variant
    assert body["payments"][0]["payment_type_id"] == L.PAY_LATER
    assert body["payments"][0]["money_amount"] == 16.25  # 3 * (3.50 + 2 * 0.50) + 2.75
    assert r.total_minor == ticket.total_minor == 1625
    assert body["customer_id"] == fake.customers[0]["id"]


def test_payment_type_must_be_configured(fake):
    adapter = LoyverseAdapter({"store_id": L.STORE, "base_url": fake.url}, env={"LOYVERSE_ACCESS_TOKEN": L.TOKEN})
    with pytest.raises(ConfigurationError, match="payment_type.pay_at_pickup"):
        adapter.submit(taco_ticket(), "k")
    assert not fake.receipts


def test_crash_after_create_is_found_not_duplicated(fake, tmp_path):
    adapter = make(fake, timeout_s="0.5")
    for n in range(4):  # other receipts first, so find has to page
        adapter.submit(order([line("it-horchata", "horchata", 275)]), f"other-{n}")
    fake.fail("timeout", method="POST", path="/receipts", after=True, delay=1.5)
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(taco_ticket(), "k-once", adapter.name)
    box.deliver_pending(adapter, keys=["k-once"], wait_s=10)
    mine = [r for r in fake.sales() if r["order"] == "k-once"]
    assert len(mine) == 1 and box.receipt("k-once").order_id == mine[0]["receipt_number"]


def test_errors(fake):
    adapter = make(fake)
    adapter.fetch_catalog()
    fake.fail("429", method="POST", path="/receipts", retry_after="4")
    with pytest.raises(TransientError) as e:
        adapter.submit(taco_ticket(), "k")
    assert e.value.retry_after == 4
    fake.fail("500", method="POST", path="/receipts")
    with pytest.raises(TransientError):
        adapter.submit(taco_ticket(), "k")
    fake.fail("malformed", method="POST", path="/receipts")
    with pytest.raises(TransientError):
        adapter.submit(taco_ticket(), "k")
    wrong = taco_ticket().model_copy(update={"total_minor": 1})  # the POS checks the payment covers the sale
    with pytest.raises(PermanentError) as e:
        adapter.submit(wrong, "k-wrong")
    assert e.value.status == 400 and "money_amount" in str(e.value)
    assert not fake.receipts


def test_cancel_refunds(fake):
    adapter = make(fake)
    r = adapter.submit(taco_ticket(), "k-r")
    adapter.cancel(r)
    assert fake.receipts[-1]["refund_for"] == r.order_id and len(fake.receipts[-1]["line_items"]) == 2


def _signed(event: dict):
    body = json.dumps(event).encode()
    return {"X-Loyverse-Signature": hmac_b64(SECRET, body, "sha1")}, body


def test_webhooks(fake):
    adapter = make(fake)
    inv = {"merchant_id": "m", "type": "inventory_levels.update", "created_at": "2026-01-01T00:00:00.000Z",
           "inventory_levels": [{"variant_id": "va-horchata", "store_id": L.STORE, "in_stock": 0},
                                {"variant_id": "va-flan", "store_id": L.OTHER_STORE, "in_stock": 0}]}
    assert adapter.parse_webhook(*_signed(inv)).availability == {"va-horchata": False}
    items = {"merchant_id": "m", "type": "items.update", "items": []}
    assert adapter.parse_webhook(*_signed(items)).resync
    _, body = _signed(items)
    with pytest.raises(SignatureError):
        adapter.parse_webhook({"X-Loyverse-Signature": hmac_b64("wrong", body, "sha1")}, body)
