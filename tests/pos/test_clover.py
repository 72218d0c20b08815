"""Clover adapter against a fake that follows Clover's documentation (no published spec)."""

from __future__ import annotations

import json

import pytest
from pos_fakes import clover as C
from pos_fakes.tickets import line, mod, order

from adapters.base import PermanentError, SignatureError, TransientError
from adapters.clover import CloverAdapter
from agi.outbox import Outbox, RetryPolicy
from agi.tickets import FulfillmentType, Qualifier

AUTH_CODE = "clover-auth-code"


@pytest.fixture
def fake():
    f = C.FakeClover().start()
    yield f
    f.stop()
    assert f.violations == [], "requests outside Clover's documented shapes"


def make(fake, **settings: str) -> CloverAdapter:
    return CloverAdapter({"merchant_id": C.MERCHANT, "base_url": fake.url, "timeout_s": "5", **settings},
                         env={"CLOVER_API_TOKEN": C.TOKEN, "CLOVER_WEBHOOK_AUTH_CODE": AUTH_CODE})


def pizza_ticket():
    return order([line("IT-PIZZA", "margherita", 1150, 3,
                       modifiers=[mod("MOD-OLIVE", "olives", 150, Qualifier.EXTRA)], notes="well done")])


def test_catalog_availability_and_cents(fake):
    catalog = make(fake).fetch_catalog()
    assert {i.id for i in catalog.items} == {"IT-PIZZA", "IT-COLA", "IT-WATER"}  # hidden and variable left out
    assert not catalog.is_available("IT-COLA")  # auto-managed with zero stock
    assert catalog.is_available("IT-WATER")
    group = catalog.groups_of(catalog.item("IT-PIZZA"))[0]
    assert (group.min, group.max) == (0, 3)
    assert {m.id: (m.price_delta, m.available) for m in group.options} == {
        "MOD-OLIVE": (75, True), "MOD-ANCHOVY": (125, False)}


def test_quantity_becomes_repeated_line_items(fake):
    ticket = pizza_ticket()
    receipt = make(fake).submit(ticket, "call-9")
    cart = fake.calls("POST", f"/v3/merchants/{C.MERCHANT}/atomic_order/orders")[0].json()["orderCart"]
    assert len(cart["lineItems"]) == 3
    assert all(li["item"] == {"id": "IT-PIZZA"} for li in cart["lineItems"])
    assert cart["lineItems"][0]["modifications"] == [{"modifier": {"id": "MOD-OLIVE"}}] * 2  # extra olives
    assert "extra olives" in cart["lineItems"][0]["note"] and "well done" in cart["lineItems"][0]["note"]
    assert cart["orderType"] == {"id": "OT-PHONE"}  # the merchant's "Phone Pickup" order type
    assert cart["note"].startswith("PHONE · Ann Lee +15551234567 · pickup 18:30")
    assert receipt.total_minor == ticket.total_minor == 3 * (1150 + 150)
    assert fake.customers and fake.customers[0]["firstName"] == "Ann"
    assert "customers" not in cart  # attaching them in orderCart is unconfirmed: off by default


def test_delivery_order_type(fake):
    t = order([line("IT-WATER", "water", 100)], kind=FulfillmentType.DELIVERY, address="1 Main St")
    make(fake).submit(t, "k-del")
    cart = fake.calls("POST", f"/v3/merchants/{C.MERCHANT}/atomic_order/orders")[0].json()["orderCart"]
    assert cart["orderType"] == {"id": "OT-PHDEL"}


def test_no_server_dedupe_so_outbox_finds_before_retry(fake, tmp_path):
    fake.fail("500", method="POST", path=f"/v3/merchants/{C.MERCHANT}/atomic_order", after=True)
    fake.fail("timeout", method="POST", path=f"/v3/merchants/{C.MERCHANT}/atomic_order", after=True, delay=1.5)
    adapter = make(fake, timeout_s="0.5")
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(pizza_ticket(), "k-once", adapter.name)
    box.deliver_pending(adapter, keys=["k-once"], wait_s=10)
    assert len(fake.orders) == 1, "the 500 already created the order; a blind retry would duplicate it"
    assert box.receipt("k-once").order_id in fake.orders


def test_reference_in_configured_field(fake):
    adapter = make(fake, reference_field="externalReferenceId")
    r = adapter.submit(pizza_ticket(), "k-ext")
    cart = fake.calls("POST", f"/v3/merchants/{C.MERCHANT}/atomic_order/orders")[0].json()["orderCart"]
    assert cart["externalReferenceId"] == "ct-k-ext"
    assert adapter.find("k-ext") == r


def test_errors_are_classified(fake):
    adapter = make(fake)
    adapter.fetch_catalog()
    fake.fail("429", method="POST", retry_after="2")
    with pytest.raises(TransientError) as e:
        adapter.submit(pizza_ticket(), "k")
    assert e.value.retry_after == 2
    fake.fail("malformed", method="POST", path=f"/v3/merchants/{C.MERCHANT}/atomic_order")
    with pytest.raises(TransientError):
        adapter.submit(pizza_ticket(), "k")
    fake.items = [i for i in fake.items if i["id"] != "IT-PIZZA"]  # deleted while the call ran
    with pytest.raises(PermanentError) as e:
        adapter.submit(pizza_ticket(), "k")
    assert e.value.status == 400


def test_unknown_item_refused_before_sending(fake):
    with pytest.raises(PermanentError):
        make(fake).submit(order([line("NOPE", "ghost", 100)]), "k")
    assert not fake.calls("POST", f"/v3/merchants/{C.MERCHANT}/atomic_order/orders")


def test_cancel(fake):
    adapter = make(fake)
    r = adapter.submit(pizza_ticket(), "k-c")
    adapter.cancel(r)
    assert r.order_id not in fake.orders


def test_wrong_token(fake):
    adapter = CloverAdapter({"merchant_id": C.MERCHANT, "base_url": fake.url}, env={"CLOVER_API_TOKEN": "bad"})
    with pytest.raises(PermanentError) as e:
        adapter.fetch_catalog()
    assert e.value.status == 401


def test_webhooks(fake):
    adapter = make(fake)
    body = json.dumps({"appId": "APP", "merchants": {C.MERCHANT: [
        {"objectId": "IA:IT-WATER", "type": "UPDATE", "ts": 1}]}}).encode()
    assert adapter.parse_webhook({"X-Clover-Auth": AUTH_CODE}, body).resync
    with pytest.raises(SignatureError):
        adapter.parse_webhook({"X-Clover-Auth": "guess"}, body)
    other = json.dumps({"appId": "APP", "merchants": {"OTHER": [{"objectId": "I:X", "type": "UPDATE"}]}}).encode()
    assert adapter.parse_webhook({"X-Clover-Auth": AUTH_CODE}, other) is None
    assert adapter.parse_webhook({}, b'{"verificationCode": "abc"}') is None
