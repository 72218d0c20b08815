"""The fakes are only worth trusting if they refuse what the vendor would: each
one is sent requests that break its contract and must flag them."""

from __future__ import annotations

import json

import httpx
import pytest
from pos_fakes import clover, eposnow, loyverse, revel, square, toast


def _post(fake, path: str, body: dict, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(fake.url + path, content=json.dumps(body), headers={"Content-Type": "application/json",
                                                                          **headers}, timeout=5)


@pytest.fixture
def started():
    fakes = []

    def start(cls):
        f = cls().start()
        fakes.append(f)
        return f

    yield start
    for f in fakes:
        f.stop()


SQ = {"Authorization": f"Bearer {square.TOKEN}", "Square-Version": "2025-08-20"}


@pytest.mark.parametrize("order,needle", [
    ({"location_id": "L1", "line_items": [{"quantity": 2, "catalog_object_id": "PIZZA-L"}]}, "quantity"),
    ({"location_id": "L1", "line_items": [{"quantity": "1", "catalog_object_id": "PIZZA-L", "qty": "1"}]}, "qty"),
    ({"location_id": "L1", "reference_id": "x" * 41, "line_items": []}, "reference_id"),
    ({"location_id": "L1", "fulfillments": [{"type": "CARRIER_PIGEON"}]}, "CARRIER_PIGEON"),
])
def test_square_spec_refuses(started, order, needle):
    fake = started(square.FakeSquare)
    r = _post(fake, "/v2/orders", {"idempotency_key": "k", "order": order}, SQ)
    assert r.status_code == 400 and fake.violations and needle in " ".join(fake.violations)
    assert not fake.orders


def test_square_checks_auth_and_version(started):
    fake = started(square.FakeSquare)
    assert _post(fake, "/v2/orders", {}, {"Authorization": "Bearer nope", "Square-Version": "2025-08-20"}
                 ).status_code == 401
    assert _post(fake, "/v2/orders", {}, {"Authorization": SQ["Authorization"]}).status_code == 400


def _toast_headers(fake) -> dict[str, str]:
    login = _post(fake, "/authentication/v1/authentication/login",
                  {"clientId": toast.CLIENT_ID, "clientSecret": toast.CLIENT_SECRET,
                   "userAccessType": "TOAST_MACHINE_CLIENT"}, {})
    return {"Authorization": "Bearer " + login.json()["token"]["accessToken"],
            "Toast-Restaurant-External-ID": toast.RESTAURANT}


def test_toast_spec_refuses_unknown_and_missing_fields(started):
    fake = started(toast.FakeToast)
    h = _toast_headers(fake)
    base = {"entityType": "Order", "diningOption": {"guid": toast.TAKE_OUT, "entityType": "DiningOption"},
            "checks": [{"entityType": "Check",
                        "customer": {"entityType": "Customer", "firstName": "A", "lastName": "B",
                                     "phone": "5551234567", "email": "a@example.com"},
                        "selections": [
                {"entityType": "MenuItemSelection", "item": {"guid": toast.FRIES, "entityType": "MenuItem"},
                 "itemGroup": {"guid": toast.MAINS, "entityType": "MenuGroup"}, "quantity": 1}]}]}
    typo = json.loads(json.dumps(base))
    typo["checks"][0]["selections"][0]["quantiy"] = 1
    assert _post(fake, "/orders/v2/orders", typo, h).status_code == 400
    assert "quantiy" in fake.violations[-1]
    no_checks = {k: v for k, v in base.items() if k != "checks"}
    assert _post(fake, "/orders/v2/orders", no_checks, h).status_code == 400
    assert "'checks' is a required property" in " ".join(fake.violations)
    no_item = json.loads(json.dumps(base))
    del no_item["checks"][0]["selections"][0]["item"]  # only a SPECIAL_REQUEST may omit it
    assert _post(fake, "/orders/v2/orders", no_item, h).status_code == 400
    assert "'item' is a required property" in " ".join(fake.violations)
    headers = {k: v for k, v in h.items() if k != "Toast-Restaurant-External-ID"}
    assert _post(fake, "/orders/v2/orders", base, headers).status_code == 403
    assert _post(fake, "/orders/v2/orders", base, h).status_code == 200  # the same order, well formed


@pytest.mark.parametrize("cls,path,headers,body", [
    (clover.FakeClover, f"/v3/merchants/{clover.MERCHANT}/atomic_order/orders",
     {"Authorization": f"Bearer {clover.TOKEN}"}, {"orderCart": {"lineItems": [{"item": {"id": "IT-PIZZA"},
                                                                                "quantity": 2}]}}),
    (loyverse.FakeLoyverse, "/receipts", {"Authorization": f"Bearer {loyverse.TOKEN}"},
     {"store_id": loyverse.STORE, "line_items": [{"variant_id": "va-horchata", "quantity": 1}],
      "payments": [{"payment_type_id": "p", "money_amount": "2.75"}]}),
    (eposnow.FakeEposNow, "/Transaction",
     {"Authorization": "Basic " + __import__("base64").b64encode(b"epos-key:epos-secret").decode()},
     {"TransactionItems": [{"ProductId": "14944172", "Quantity": 1}]}),
    (revel.FakeRevel, "/specialresources/cart/submit/", {"API-AUTHENTICATION": f"{revel.KEY}:{revel.SECRET}"},
     {"skin": "weborder", "establishmentId": 2, "items": [{"product": 501, "quantity": 1, "qty": 1}],
      "orderInfo": {}}),
])
def test_documented_shapes_refuse(started, cls, path, headers, body):
    fake = started(cls)
    assert _post(fake, path, body, headers).status_code == 400
    assert fake.violations
    assert _post(fake, path, body, {}).status_code in (401, 403)  # no credentials
