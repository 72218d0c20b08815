"""Epos Now and Revel adapters against fakes that follow their documentation (no published specs)."""

from __future__ import annotations

import json

import pytest
from pos_fakes import eposnow as E
from pos_fakes import revel as R
from pos_fakes.tickets import line, mod, order

from adapters.base import PermanentError, SignatureError, TransientError
from adapters.eposnow import EposNowAdapter
from adapters.revel import RevelAdapter
from adapters.signing import hmac_hex
from agi.outbox import Outbox, RetryPolicy
from agi.tickets import FulfillmentType, Qualifier


@pytest.fixture
def epos():
    f = E.FakeEposNow().start()
    yield f
    f.stop()
    assert f.violations == []


@pytest.fixture
def revel():
    f = R.FakeRevel().start()
    yield f
    f.stop()
    assert f.violations == []


def make_epos(fake, **settings: str) -> EposNowAdapter:
    return EposNowAdapter({"base_url": fake.url, "timeout_s": "5", **settings}, currency="GBP",
                          tz="Europe/London", env={"EPOSNOW_API_KEY": E.KEY, "EPOSNOW_API_SECRET": E.SECRET})


def make_revel(fake, **settings: str) -> RevelAdapter:
    values = {"base_url": fake.url, "establishment_id": str(R.ESTABLISHMENT), "timeout_s": "5",
              "dining_option.pickup": "1", "dining_option.delivery": "2", **settings}
    return RevelAdapter(values, env={"REVEL_API_KEY": R.KEY, "REVEL_API_SECRET": R.SECRET,
                                     "REVEL_WEBHOOK_SECRET": "rv-secret"})


def fish_ticket():
    return order([line("14944172", "fish and chips", 899, 2,
                       modifiers=[mod("14944081", "mushy peas", 360, Qualifier.EXTRA)])], currency="GBP")


# ----------------------------------------------------------------- Epos Now

def test_epos_catalog_pages_prices_and_stock(epos):
    catalog = make_epos(epos, track_stock="true", location_id="3").fetch_catalog()
    assert catalog.item("14944172").price == 899  # take-away price for phone orders
    assert catalog.item("14944090") is None  # archived
    assert not catalog.is_available("14944081")  # no stock
    assert len(catalog.items) == 2 + E.PAGE and len(epos.calls("GET", "/Product")) == 2
    assert make_epos(epos, price_list="sale").fetch_catalog().item("14944172").price == 959


def test_epos_transaction_shape_and_money(epos):
    ticket = fish_ticket()
    r = make_epos(epos, **{"tender_type.pay_at_pickup": "46244", "status_id": "1",
                           "service_type.pickup": "2"}).submit(ticket, "call-11")
    body = epos.calls("POST", "/Transaction")[0].json()
    item = body["TransactionItems"][0]
    assert item == {"ProductId": 14944172, "Quantity": 2, "UnitPrice": 8.99, "Notes": "extra mushy peas",
                    "MultipleChoiceItems": [{"ProductId": 14944081, "Quantity": 2, "UnitPrice": 1.8}]}
    assert {"Name": "Channel", "Value": "Phone"} in body["TransactionDetails"]
    assert {"Name": "Reference", "Value": "call-11"} in body["TransactionDetails"]
    assert body["Tenders"] == [{"TenderTypeId": 46244, "Amount": 25.18}]
    assert (body["StatusId"], body["ServiceType"]) == (1, 2)
    assert r.total_minor == ticket.total_minor == 2518
    assert body["CustomerId"] == epos.customers[0]["Id"]


def test_epos_unconfirmed_fields_only_when_configured(epos):
    make_epos(epos).submit(fish_ticket(), "k")
    body = epos.calls("POST", "/Transaction")[0].json()
    assert not {"StatusId", "ServiceType", "Tenders"} & set(body)


def test_epos_find_uses_detail_because_reference_code_is_not_echoed(epos, tmp_path):
    adapter = make_epos(epos)
    epos.fail("500", method="POST", path="/Transaction", after=True)
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(fish_ticket(), "k-epos", adapter.name)
    box.deliver_pending(adapter, keys=["k-epos"], wait_s=10)
    assert len(epos.transactions) == 1 and box.receipt("k-epos").order_id == str(epos.transactions[0]["Id"])


def test_epos_errors(epos):
    adapter = make_epos(epos)
    adapter.fetch_catalog()
    epos.fail("429", method="POST", retry_after="2")
    with pytest.raises(TransientError):
        adapter.submit(fish_ticket(), "k")
    with pytest.raises(PermanentError):
        adapter.submit(order([line("14944090", "old pie", 400)]), "k")  # archived: refused before sending
    epos.products[0]["IsArchived"] = True  # archived while the call ran: the POS refuses
    with pytest.raises(PermanentError) as e:
        adapter.submit(fish_ticket(), "k2")
    assert e.value.status == 400
    bad = EposNowAdapter({"base_url": epos.url}, env={"EPOSNOW_API_KEY": "x", "EPOSNOW_API_SECRET": "y"})
    with pytest.raises(PermanentError) as e:
        bad.fetch_catalog()
    assert e.value.status == 401


# -------------------------------------------------------------------- Revel

def test_revel_catalog_from_tastypie_resources(revel):
    catalog = make_revel(revel).fetch_catalog()
    assert [i.id for i in catalog.items] == ["501", "502", "503"]  # paged through meta.next
    pad = catalog.item("501")
    assert pad.price == 1150
    group = catalog.groups_of(pad)[0]
    assert group.max == 2 and {m.id: m.price_delta for m in group.options} == {"3001": 75, "3002": 200}


def test_revel_cart_submit(revel):
    ticket = order([line("501", "pad thai", 1150, 2, modifiers=[mod("3001", "chicken", 75)], notes="mild")],
                   kind=FulfillmentType.PICKUP)
    r = make_revel(revel, **{"payment_type.pay_at_pickup": "4", "order_info.phone": "phone_number"}).submit(
        ticket, "call-12")
    cart = revel.orders[0]["cart"]
    assert cart["items"][0] == {"product": 501, "quantity": 2, "price": 11.5, "special_request": "mild",
                                "modifieritems": [{"modifier": 3001, "qty": 1, "qty_type": 0,
                                                   "modifier_price": 0.75}]}
    assert cart["orderInfo"]["dining_option"] == 1 and cart["orderInfo"]["phone_number"] == "+15551234567"
    assert cart["paymentInfo"] == {"type": 4, "amount": 24.5, "tip": 0}
    assert r.order_id == str(revel.orders[0]["id"]) and revel.orders[0]["final_total"] == 24.5


def test_revel_dining_option_must_be_configured(revel):
    adapter = RevelAdapter({"base_url": revel.url, "establishment_id": "2"},
                           env={"REVEL_API_KEY": R.KEY, "REVEL_API_SECRET": R.SECRET})
    with pytest.raises(PermanentError, match="dining_option.pickup"):
        adapter.submit(order([line("502", "spring rolls", 525)]), "k")


def test_revel_status_error_and_timeout_recovery(revel, tmp_path):
    adapter = make_revel(revel, timeout_s="0.5")
    adapter.fetch_catalog()
    revel.products = revel.products[1:]  # pad thai withdrawn while the call ran
    with pytest.raises(PermanentError, match="not available"):
        adapter.submit(order([line("501", "pad thai", 1150)]), "k")
    revel.fail("timeout", method="POST", after=True, delay=1.5)
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(order([line("502", "spring rolls", 525)]), "k-revel", adapter.name)
    box.deliver_pending(adapter, keys=["k-revel"], wait_s=10)
    assert len(revel.orders) == 1 and box.receipt("k-revel").order_id == str(revel.orders[0]["id"])


def test_revel_forbidden_html_is_permanent(revel):
    bad = RevelAdapter({"base_url": revel.url, "establishment_id": "2"},
                       env={"REVEL_API_KEY": "x", "REVEL_API_SECRET": "y"})
    with pytest.raises(PermanentError) as e:
        bad.fetch_catalog()
    assert e.value.status == 403


def test_revel_webhooks(revel):
    adapter = make_revel(revel)
    body = json.dumps({"product": 502, "in_stock": False}).encode()
    sig = hmac_hex("rv-secret", body, "sha256")
    change = adapter.parse_webhook({"X-Revel-Signature": sig, "X-Revel-Event-Type": "inout.stock"}, body)
    assert change.resync
    ping = b'{"ping":"pong"}'
    assert adapter.parse_webhook({"X-Revel-Signature": hmac_hex("rv-secret", ping, "sha256"),
                                  "X-Revel-Event-Type": "ping"}, ping) is None
    with pytest.raises(SignatureError):
        adapter.parse_webhook({"X-Revel-Signature": sig, "X-Revel-Event-Type": "inout.stock"}, body + b"x")


@pytest.mark.parametrize("kind", ["500", "malformed", "timeout"])
def test_epos_transient_faults(epos, kind):
    adapter = make_epos(epos, timeout_s="0.5")
    adapter.fetch_catalog()
    epos.fail(kind, method="POST", path="/Transaction", delay=1.0)
    with pytest.raises(TransientError) as e:
        adapter.submit(fish_ticket(), "k")
    assert e.value.maybe_applied


@pytest.mark.parametrize("kind,retry_after", [("429", 5.0), ("500", None), ("malformed", None)])
def test_revel_transient_faults(revel, kind, retry_after):
    adapter = make_revel(revel)
    adapter.fetch_catalog()
    revel.fail(kind, method="POST", retry_after="5")
    with pytest.raises(TransientError) as e:
        adapter.submit(order([line("502", "spring rolls", 525)]), "k")
    assert e.value.retry_after == retry_after
    assert not revel.orders
