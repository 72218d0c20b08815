"""Toast adapter against a fake that enforces Toast's published API descriptions."""

from __future__ import annotations

import json

import pytest
from pos_fakes import toast as T
from pos_fakes.tickets import line, mod, order

from adapters.base import PermanentError, SignatureError, TransientError
from adapters.signing import hmac_b64
from adapters.toast import ToastAdapter
from agi.outbox import Outbox, RetryPolicy
from agi.tickets import FulfillmentType, Qualifier

SECRET = "toast-hook-secret"


@pytest.fixture
def fake():
    f = T.FakeToast().start()
    yield f
    f.stop()
    assert f.violations == [], "requests that break Toast's published spec"


def make(fake, **settings: str) -> ToastAdapter:
    values = {"restaurant_guid": T.RESTAURANT, "external_id_authority": "CALLTICKET", "base_url": fake.url,
              "timeout_s": "5", **settings}
    return ToastAdapter(values, tz="America/New_York", env={
        "TOAST_CLIENT_ID": T.CLIENT_ID, "TOAST_CLIENT_SECRET": T.CLIENT_SECRET, "TOAST_WEBHOOK_SECRET": SECRET})


def burger_ticket(time: str | None = "18:30"):
    return order([
        line(T.BURGER, "burger", 1250, 2, modifiers=[
            mod(T.WELL, "well done", 0), mod(T.BACON, "bacon", 350, Qualifier.EXTRA),
            mod(T.CHEESE, "cheese", 0, Qualifier.NO)]),
        line(T.FRIES, "fries", 425, 1, notes="extra crispy"),
    ], time=time)


def test_menu_and_stock_normalised(fake):
    catalog = make(fake).fetch_catalog()
    ids = [i.id for i in catalog.items]
    assert T.HIDDEN not in ids  # not visible to ordering partners
    assert T.MARKET not in ids  # open price: a caller cannot name it
    burger = catalog.item(T.BURGER)
    assert burger.price == 1250
    temp, addons = catalog.groups_of(burger)
    assert (temp.min, temp.max) == (1, 1) and (addons.min, addons.max) == (0, None)
    assert {m.id: m.price_delta for m in addons.options} == {T.BACON: 175, T.CHEESE: 80}
    assert not catalog.is_available(T.SHAKE)  # OUT_OF_STOCK in the stock API
    assert catalog.item(T.FRIES).price == 425


def test_stock_outage_assumes_in_stock(fake):
    fake.fail("500", path="/stock/")
    assert make(fake).fetch_catalog().is_available(T.SHAKE)


def test_order_maps_dining_option_selections_customer_and_time(fake):
    receipt = make(fake).submit(burger_ticket(), "call-7-commit")
    sent = fake.calls("POST", "/orders/v2/orders")[0].json()
    assert sent["externalId"] == "CALLTICKET:call-7-commit"
    assert sent["diningOption"]["guid"] == T.PHONE_TAKE_OUT  # the merchant's phone dining option
    assert sent["promisedDate"].endswith(":30:00.000+0000")
    assert "payments" not in sent["checks"][0]  # pay at pickup leaves the check open
    burger = sent["checks"][0]["selections"][0]
    assert burger["itemGroup"]["guid"] == T.MAINS and burger["quantity"] == 2
    mods = {m.get("item", {}).get("guid"): m for m in burger["modifiers"]}
    assert mods[T.WELL]["optionGroup"]["guid"] == T.TEMP_GROUP
    assert mods[T.BACON]["quantity"] == 2  # extra bacon: a double portion at Toast's price
    assert T.CHEESE not in mods
    special = [m for m in burger["modifiers"] if m.get("selectionType") == "SPECIAL_REQUEST"]
    assert "no cheese" in special[0]["displayName"]
    customer = sent["checks"][0]["customer"]
    assert (customer["firstName"], customer["lastName"], customer["phone"]) == ("Ann", "Lee", "5551234567")
    assert receipt.order_id in fake.orders
    assert receipt.total_minor == 2 * (1250 + 2 * 175) + 425  # Toast's decimal total, converted exactly


def test_configured_dining_option_skips_lookup(fake):
    make(fake, **{"dining_option.pickup": T.TAKE_OUT}).submit(burger_ticket(), "k-conf")
    assert not fake.calls("GET", "/config/")
    assert fake.calls("POST", "/orders/v2/orders")[0].json()["diningOption"]["guid"] == T.TAKE_OUT


@pytest.mark.parametrize("status", [409, 400])
def test_duplicate_external_id_returns_the_original(status):
    fake = T.FakeToast(duplicate_status=status).start()
    try:
        adapter = make(fake)
        first = adapter.submit(burger_ticket(), "k-dup")
        again = adapter.submit(burger_ticket(), "k-dup")
        assert again.order_id == first.order_id and len(fake.orders) == 1
        assert fake.violations == []
    finally:
        fake.stop()


def test_timeout_after_create_then_retry_finds_it(fake, tmp_path):
    fake.fail("timeout", method="POST", path="/orders/v2/orders", after=True, delay=1.5)
    adapter = make(fake, timeout_s="0.5")
    box = Outbox(tmp_path / "o.sqlite3", RetryPolicy(base_s=0.01, cap_s=0.05))
    box.enqueue(burger_ticket(), "k-timeout", adapter.name)
    box.deliver_pending(adapter, keys=["k-timeout"], wait_s=10)
    assert box.receipt("k-timeout") is not None and len(fake.orders) == 1
    assert fake.calls("GET", "/orders/v2/ordersBulk"), "the retry looked before resending"


def test_429_and_5xx_and_malformed(fake):
    adapter = make(fake)
    adapter.fetch_catalog()
    fake.fail("429", method="POST", path="/orders/v2/orders", retry_after="3")
    with pytest.raises(TransientError) as e:
        adapter.submit(burger_ticket(), "k-1")
    assert e.value.retry_after == 3 and not e.value.maybe_applied
    fake.fail("500", method="POST", path="/orders/v2/orders")
    with pytest.raises(TransientError) as e:
        adapter.submit(burger_ticket(), "k-1")
    assert e.value.maybe_applied
    fake.fail("malformed", method="POST", path="/orders/v2/orders", after=True)
    with pytest.raises(TransientError) as e:
        adapter.submit(burger_ticket(), "k-1")
    assert e.value.kind == "invalid"
    assert adapter.find("k-1") is not None and len(fake.orders) == 1


def test_missing_required_modifier_is_permanent(fake):
    t = order([line(T.BURGER, "burger", 1250)])  # no temperature chosen
    with pytest.raises(PermanentError) as e:
        make(fake).submit(t, "k-req")
    assert e.value.status == 400 and not fake.orders


def test_expired_token_logs_in_again(fake):
    adapter = make(fake)
    adapter.fetch_catalog()
    fake.tokens.clear()
    adapter.submit(burger_ticket(), "k-relogin")
    assert fake.logins == 2


def test_bad_credentials_are_permanent(fake):
    adapter = ToastAdapter({"restaurant_guid": T.RESTAURANT, "external_id_authority": "X", "base_url": fake.url},
                           env={"TOAST_CLIENT_ID": "x", "TOAST_CLIENT_SECRET": "y"})
    with pytest.raises(PermanentError):
        adapter.fetch_catalog()


def test_delivery_needs_address_parts(fake):
    t = order([line(T.FRIES, "fries", 425)], kind=FulfillmentType.DELIVERY, address="12 Elm St, Boston MA 02215")
    make(fake, delivery_city="Boston", delivery_state="MA").submit(t, "k-deliv")
    info = fake.calls("POST", "/orders/v2/orders")[0].json()["deliveryInfo"]
    assert info["zipCode"] == "02215" and info["city"] == "Boston"
    with pytest.raises(PermanentError):
        make(fake).submit(order([line(T.FRIES, "fries", 425)], kind=FulfillmentType.DELIVERY,
                                address="somewhere"), "k-deliv-2")


def test_void(fake):
    adapter = make(fake)
    r = adapter.submit(burger_ticket(), "k-void")
    adapter.cancel(r)
    assert fake.orders[r.order_id]["voided"]


def _signed(event: dict):
    body = json.dumps(event).encode()
    return {"Toast-Signature": hmac_b64(SECRET, body)}, body


def test_stock_webhook_and_menu_webhook(fake):
    adapter = make(fake)
    out = {"timestamp": "2026-01-01T10:00:00.000+0000", "eventCategory": "stock", "eventType": "out_of_stock",
           "guid": "ev1", "details": {"itemGuid": T.FRIES, "restaurantGuid": T.RESTAURANT, "status": "OUT_OF_STOCK",
                                      "quantity": None, "multiLocationId": "200"}}
    assert adapter.parse_webhook(*_signed(out)).availability == {T.FRIES: False}
    back = dict(out, eventType="in_stock", details=dict(out["details"], status="IN_STOCK"))
    assert adapter.parse_webhook(*_signed(back)).availability == {T.FRIES: True}
    menus = {"timestamp": "x", "eventCategory": "menus", "eventType": "menus_updated", "guid": "ev2",
             "details": {"restaurantGuid": T.RESTAURANT, "publishedDate": "2026-01-01T10:00:00.000+0000"}}
    assert adapter.parse_webhook(*_signed(menus)).resync
    _, body = _signed(menus)
    with pytest.raises(SignatureError):
        adapter.parse_webhook({"Toast-Signature": "AAAA"}, body)
