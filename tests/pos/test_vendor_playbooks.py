"""A Playbook whose catalog lives in Square, served the way serve-agi and serve-esl serve it.

The worker's own catalog service (agi.catalog_service: the registry with the
vendor loader, the catalog store, its refresh thread and the webhook endpoint)
runs against the fake Square (official OpenAPI spec); calls go through the
call core as the workers build it. Nothing of ours is replaced.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
from pos_fakes import spec
from pos_fakes import square as S
from square_worker import NAME, ROOT, out_of_stock, signed, square, square_playbook, worker_config  # noqa: F401 (fixture)

from agi import events as ev
from agi.catalog_service import CatalogService
from agi.cli import main
from agi.config import load_config
from agi.metrics import Metrics
from agi.simulate import Script, TextCall

CALLER = {"caller": {"number": "+15551234567", "language": "en"}, "at": "2026-11-20T17:30:00"}


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class Orders:
    """The commit path of these calls: what matters here is what the caller hears before it."""

    def __call__(self, ticket, key: str) -> ev.CommitDone:
        return ev.CommitDone("1", key, "square")


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("CT_TEST_SQUARE_TOKEN", S.TOKEN)
    monkeypatch.setenv("CT_TEST_SQUARE_HOOK_KEY", "sq-webhook-signature-key")


@pytest.fixture
def worker(tmp_path, square, env):
    """The catalog side of a worker process, from its config file; stopped as SIGTERM stops it."""
    services: list[CatalogService] = []

    def start(playbooks: Path, **kw) -> tuple[CatalogService, object]:
        cfg = worker_config(tmp_path / "callticket.yaml", playbooks, tmp_path / "data", square.url, **kw)
        service = CatalogService(load_config(cfg), tmp_path / "data", metrics=Metrics())
        services.append(service)
        registry = service.registry()
        service.start()
        return service, registry

    yield start
    for s in services:
        s.stop()


def call(registry, *turns: str) -> TextCall:
    c = TextCall(registry.get(NAME), Script.model_validate(CALLER), Orders())
    for t in turns:
        c.say(t)
    return c


def test_a_square_playbook_loads_from_square_and_webhooks_reach_calls_in_progress(tmp_path, square, worker):
    square_playbook(tmp_path / "playbooks")
    service, registry = worker(tmp_path / "playbooks")
    # (a) No catalog file: the Playbook was checked against Square's catalog, and serves calls.
    assert registry.names == [NAME] and dict(registry.errors) == {}
    loaded = registry.get(NAME)
    assert {i.name for i in loaded.catalog.items} == {"Pepperoni Pizza", "Soda", "Men's Haircut"}
    assert square.calls("GET", "/v2/catalog/list")
    # its catalog's age is on /metrics, under the same label as a local catalog's
    assert f'callticket_catalog_age_seconds{{location="{NAME}/main"}}' in service.metrics.render().decode()

    in_progress = call(registry, "a large pepperoni pizza please")
    assert "1 Large Pepperoni Pizza" in in_progress.turns[-1]["bot"]

    # (c) A webhook that Square did not sign is answered 401 and changes nothing.
    body = out_of_stock("SODA-R")
    schema, refs = spec.square_schema("InventoryCountUpdatedEvent")  # the event as Square's spec defines it
    jsonschema.Draft202012Validator(schema, registry=refs).validate(json.loads(body))
    hook = f"{service.webhooks.url}/webhooks/{NAME}"
    assert httpx.post(hook, content=body).status_code == 401
    assert httpx.post(hook, content=body, headers=signed(body, key="guessed")).status_code == 401
    assert httpx.post(hook, content=body + b" ", headers=signed(body)).status_code == 401
    other = call(registry, "a soda please")
    assert "1 Regular Soda" in other.turns[-1]["bot"] and "not available" not in other.turns[-1]["bot"]

    # (b) Square says the soda sold out: the call in progress refuses it on its very next turn.
    answer = httpx.post(hook, content=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json()["applied"]
    reply = in_progress.say("and a soda")
    assert reply.startswith("Sorry, Soda is not available today.")
    assert "Soda" not in in_progress.say("that's all")  # the order goes on without it
    assert "not available" in call(registry, "a soda please").turns[-1]["bot"]  # and so do new calls
    assert "Soda" not in {i.name for i in loaded.current_catalog().items if i.available}

    # Square retries an event; it is known by its id, which the outbox database keeps across restarts.
    again = httpx.post(hook, content=body, headers=signed(body))
    assert again.status_code == 200 and again.json().get("duplicate")
    with sqlite3.connect(tmp_path / "data" / "outbox.sqlite3") as db:
        assert db.execute("SELECT location, event_id FROM webhook_events").fetchall() == [(NAME, "evt-1")]


def test_square_down_at_start_is_refused_clearly_and_comes_up_when_it_answers(tmp_path, square, worker, caplog):
    square_playbook(tmp_path / "playbooks")
    square.fail("500", times=100_000, path="/v2/catalog/list")
    with caplog.at_level(logging.DEBUG, logger="callticket.registry"):
        service, registry = worker(tmp_path / "playbooks", poll_s=0.1)
        (problem,) = registry.errors[NAME]
        assert str(problem).startswith(
            f"{tmp_path / 'playbooks' / NAME}.yaml:0: pos: cannot fetch catalog from square: HTTP 500")
        assert registry.get(NAME) is None and registry.waiting == [NAME]

        registry.start()  # the watch thread: no file changes, yet it keeps asking Square
        assert wait_for(lambda: len(square.calls("GET", "/v2/catalog/list")) >= 4)
        refused = [r for r in caplog.records if r.getMessage().startswith("playbook refused")]
        assert len(refused) == 1  # reported once, not on every pass

        with square.lock:
            square.faults.clear()  # Square is back
        assert wait_for(lambda: registry.get(NAME) is not None)
    assert dict(registry.errors) == {} and registry.waiting == []
    assert "1 Large Pepperoni Pizza" in call(registry, "a large pepperoni pizza please").turns[-1]["bot"]


def test_sighup_retries_a_square_playbook_that_was_refused(tmp_path, square, worker):
    square_playbook(tmp_path / "playbooks")
    square.fail("500", times=1, path="/v2/catalog/list")
    service, registry = worker(tmp_path / "playbooks")
    assert registry.get(NAME) is None
    registry.request_reload()  # what SIGHUP does; no watch thread is running
    assert registry.get(NAME) is not None


def test_the_refresh_thread_brings_a_change_at_the_register(tmp_path, square, worker):
    square_playbook(tmp_path / "playbooks", refresh_s=5)  # the shortest refresh a Playbook may ask for
    service, registry = worker(tmp_path / "playbooks")
    in_progress = call(registry, "a large pepperoni pizza please")
    soda = next(o for o in square.objects if o["id"] == "SODA")["item_data"]["variations"][0]
    soda["item_variation_data"]["location_overrides"] = [{"location_id": S.LOCATION, "sold_out": True}]  # 86'd
    assert wait_for(lambda: not registry.get(NAME).current_catalog().is_available("SODA"), 8.0)
    assert in_progress.say("and a soda").startswith("Sorry, Soda is not available today.")


def test_a_reference_the_square_catalog_lacks_is_refused(tmp_path, square, worker):
    square_playbook(tmp_path / "playbooks", upsell=True)  # offers 'coke', which Square does not sell
    service, registry = worker(tmp_path / "playbooks")
    problems = [str(p) for p in registry.errors[NAME]]
    assert any(p.endswith("upsell[0].offer: unknown catalog item 'coke'") and ":0:" not in p for p in problems)
    assert registry.get(NAME) is None and registry.waiting == []  # waiting cannot fix an edit


def test_local_catalogs_still_hot_reload_under_the_workers_loader(tmp_path, square, worker):
    playbooks = tmp_path / "playbooks"
    (playbooks / "catalogs").mkdir(parents=True)
    shutil.copy(ROOT / "playbooks" / "pizzeria.yaml", playbooks / "pizzeria.yaml")
    shutil.copy(ROOT / "playbooks" / "catalogs" / "pizzeria.yaml", playbooks / "catalogs" / "pizzeria.yaml")
    service, registry = worker(playbooks)
    assert registry.get("pizzeria").catalog.item("pizza-pepperoni") is not None
    catalog = playbooks / "catalogs" / "pizzeria.yaml"
    catalog.write_text(catalog.read_text().replace("price: 1699", "price: 1899"))
    later = time.time_ns() + 2_000_000_000
    os.utime(catalog, ns=(later, later))
    assert [(c.name, c.action) for c in registry.check()] == [("pizzeria", "reloaded")]
    assert registry.get("pizzeria").catalog.item("pizza-pepperoni").variation("pep-large").price == 1899
    assert service.store.locations() == []  # local catalogs are not polled from a POS


def test_check_config_fetches_the_square_catalog_as_the_worker_does(tmp_path, square, env, capsys):
    square_playbook(tmp_path / "playbooks")
    cfg = worker_config(tmp_path / "callticket.yaml", tmp_path / "playbooks", tmp_path / "data", square.url)
    assert main(["check-config", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"ok       catalog {NAME} (square): 3 items, the Playbook checks against it" in out
    square.fail("500", times=10, path="/v2/catalog/list")
    assert main(["check-config", "--config", str(cfg), "--strict"]) == 1
    out = capsys.readouterr().out
    assert f"error    {tmp_path / 'playbooks' / NAME}.yaml:0: pos: cannot fetch catalog from square: HTTP 500" in out
