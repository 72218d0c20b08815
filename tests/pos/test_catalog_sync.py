"""Catalog sync: interval refresh, webhooks through the HTTP endpoint, signatures."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from pos_fakes import square as S
from pos_fakes import toast as T

from adapters.base import CatalogChange
from adapters.local import LocalPos
from adapters.signing import hmac_b64, hmac_hex
from adapters.square import SquareAdapter
from adapters.toast import ToastAdapter
from agi.catalog_sync import CatalogStore
from agi.webhooks import WebhookServer, webhook_app

ROOT = Path(__file__).resolve().parents[2]
PIZZERIA = ROOT / "playbooks" / "catalogs" / "pizzeria.yaml"
HOOK_URL = "https://example.test/webhooks/L1"


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def square_fake():
    f = S.FakeSquare().start()
    yield f
    f.stop()
    assert f.violations == []


@pytest.fixture
def toast_fake():
    f = T.FakeToast().start()
    yield f
    f.stop()


@pytest.fixture
def served():
    servers, stores = [], []

    def serve(store: CatalogStore) -> str:
        stores.append(store.start())
        server = WebhookServer(webhook_app(store)).start()
        servers.append(server)
        return server.url

    yield serve
    for s in servers:
        s.stop()
    for st in stores:
        st.stop()


def square(fake) -> SquareAdapter:
    return SquareAdapter({"location_id": "L1", "base_url": fake.url, "webhook_url": HOOK_URL},
                         env={"SQUARE_ACCESS_TOKEN": S.TOKEN, "SQUARE_WEBHOOK_SIGNATURE_KEY": "k"})


def square_event(kind: str, **data) -> bytes:
    """A Square event dated a moment after now (after the catalog the test reads first)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    return json.dumps({"merchant_id": "M", "type": kind, "event_id": data.pop("event_id", "e"),
                       "created_at": now, "data": data}).encode()


def test_interval_refresh_picks_up_a_local_86(tmp_path):
    pos = LocalPos(tmp_path, PIZZERIA)
    store = CatalogStore(refresh_s=0.2).start()
    try:
        store.register("pizzeria", pos)
        assert store.current("pizzeria").is_available("pizza-hawaiian") is False  # 86'd in the file itself
        assert store.current("pizzeria").is_available("pizza-cheese")
        pos.set_available("pizza-cheese", False)
        assert wait_for(lambda: not store.current("pizzeria").is_available("pizza-cheese"))
    finally:
        store.stop()


def test_inventory_webhook_is_applied_before_the_answer(square_fake, served):
    store = CatalogStore(refresh_s=3600)
    store.register("L1", square(square_fake))
    url = served(store)
    assert store.current("L1").is_available("SODA")
    body = square_event("inventory.count.updated", type="inventory_counts", id="x", object={"inventory_counts": [
        {"catalog_object_id": "SODA-R", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
         "location_id": "L1", "quantity": "0", "calculated_at": "2026-01-01T00:00:00Z"}]})
    r = httpx.post(url + "/webhooks/L1", content=body,
                   headers={"x-square-hmacsha256-signature": hmac_b64("k", HOOK_URL.encode() + body)})
    assert r.status_code == 200 and r.json()["applied"]
    assert not store.current("L1").is_available("SODA")  # its only variation is gone: the item is too
    again = httpx.post(url + "/webhooks/L1", content=body,
                       headers={"x-square-hmacsha256-signature": hmac_b64("k", HOOK_URL.encode() + body)})
    assert again.json().get("duplicate")


def test_forged_and_misrouted_webhooks_change_nothing(square_fake, served):
    store = CatalogStore(refresh_s=3600)
    store.register("L1", square(square_fake))
    url = served(store)
    body = square_event("inventory.count.updated", object={"inventory_counts": [
        {"catalog_object_id": "SODA-R", "state": "IN_STOCK", "location_id": "L1", "quantity": "0"}]})
    assert httpx.post(url + "/webhooks/L1", content=body,
                      headers={"x-square-hmacsha256-signature": hmac_b64("guess", body)}).status_code == 401
    assert httpx.post(url + "/webhooks/L1", content=body).status_code == 401
    assert httpx.post(url + "/webhooks/nowhere", content=body).status_code == 401  # as forged: names stay hidden
    assert store.current("L1").is_available("SODA")


def test_catalog_version_webhook_resyncs(square_fake, served):
    store = CatalogStore(refresh_s=3600)
    store.register("L1", square(square_fake))
    url = served(store)
    assert store.current("L1").is_available("PIZZA", "PIZZA-L")
    pizza = square_fake.objects[0]["item_data"]["variations"][1]["item_variation_data"]
    pizza["location_overrides"] = [{"location_id": "L1", "sold_out": True}]  # 86'd at the register
    body = square_event("catalog.version.updated", type="catalog_version", id="",
                        object={"catalog_version": {"updated_at": "2026-01-01T00:00:01Z"}}, event_id="e2")
    r = httpx.post(url + "/webhooks/L1", content=body,
                   headers={"x-square-hmacsha256-signature": hmac_b64("k", HOOK_URL.encode() + body)})
    assert r.status_code == 200
    assert wait_for(lambda: not store.current("L1").is_available("PIZZA", "PIZZA-L"))
    assert store.current("L1").is_available("PIZZA", "PIZZA-S")


def test_toast_stock_webhook(toast_fake, served):
    adapter = ToastAdapter({"restaurant_guid": T.RESTAURANT, "external_id_authority": "CT", "base_url": toast_fake.url},
                           env={"TOAST_CLIENT_ID": T.CLIENT_ID, "TOAST_CLIENT_SECRET": T.CLIENT_SECRET,
                                "TOAST_WEBHOOK_SECRET": "ts"})
    store = CatalogStore(refresh_s=3600)
    store.register("tavern", adapter)
    url = served(store)
    body = json.dumps({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(time.time() + 1)),
                       "eventCategory": "stock", "eventType": "out_of_stock", "guid": "g1",
                       "details": {"itemGuid": T.FRIES, "restaurantGuid": T.RESTAURANT,
                                   "status": "OUT_OF_STOCK"}}).encode()
    assert store.current("tavern").is_available(T.FRIES)
    r = httpx.post(url + "/webhooks/tavern", content=body, headers={"Toast-Signature": hmac_b64("ts", body)})
    assert r.status_code == 200 and not store.current("tavern").is_available(T.FRIES)


def test_local_pos_webhook(tmp_path, served):
    pos = LocalPos(tmp_path, PIZZERIA, webhook_secret="ls")
    store = CatalogStore(refresh_s=3600)
    store.register("pizzeria", pos)
    url = served(store)
    body = json.dumps({"availability": {"top-bacon": False}}).encode()
    r = httpx.post(url + "/webhooks/pizzeria", content=body,
                   headers={"X-Callticket-Signature": hmac_hex("ls", body)})
    assert r.status_code == 200
    catalog = store.current("pizzeria")
    assert not catalog.modifier(catalog.item("pizza-cheese"), "top-bacon")[1].available
    assert not pos.fetch_catalog().modifier(catalog.item("pizza-cheese"), "top-bacon")[1].available  # persisted


class _SlowPos:
    """Blocks inside fetch_catalog so a webhook can land mid-refresh."""

    name = "slow"

    def __init__(self, inner: LocalPos):
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def fetch_catalog(self):
        catalog = self.inner.fetch_catalog()  # read before the change arrives
        self.entered.set()
        self.release.wait(5)
        return catalog


def test_change_during_refresh_survives_the_refresh(tmp_path):
    slow = _SlowPos(LocalPos(tmp_path, PIZZERIA))
    store = CatalogStore(refresh_s=3600)
    store.register("p", slow)
    slow.release.set()
    store.current("p")
    slow.release.clear()
    slow.entered.clear()
    worker = threading.Thread(target=store.refresh, args=("p",))
    worker.start()
    assert slow.entered.wait(5)
    store.apply(CatalogChange("slow", "p", {"pizza-cheese": False}))
    slow.release.set()
    worker.join(5)
    assert not store.current("p").is_available("pizza-cheese")


def test_failed_refresh_keeps_the_last_catalog(tmp_path):
    pos = LocalPos(tmp_path, PIZZERIA)
    store = CatalogStore(refresh_s=3600)
    store.register("p", pos)
    first = store.current("p")
    pos.catalog_path = tmp_path / "missing.yaml"
    assert store.refresh("p") is first
