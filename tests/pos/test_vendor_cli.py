"""`validate`, `simulate` and `chat` on a Playbook bound to Square, as a user runs them.

Each command is a real `callticket` process; Square is the fake that checks
every request against Square's published OpenAPI spec. The Playbook has no
catalog file; the worker config names the credentials (an environment
variable of the config's choosing, never SQUARE_ACCESS_TOKEN) and the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pos_fakes import square as S
from square_worker import ENV, ROOT, square, square_playbook, worker_config  # noqa: F401 (fixture)

from agi.outbox import Outbox

SCRIPT = ("caller: {number: '+15551234567', language: en}\n"
          "at: '2026-11-20T17:30:00'\n"
          "say: ['two large pepperoni pizzas for pickup please', \"that's all\", Maria, 'yes', 'yes']\n")
CONTRACT_KEYS = {"outcome", "ticket", "transfer", "pos", "turns"}  # ../shared/DESIGN.md, simulate --json


def callticket(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUARE_", "CALLTICKET_"))}
    env.update(ENV)
    return subprocess.run([sys.executable, "-m", "agi.cli", *argv], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def setup(tmp_path, square):
    """(Playbook, worker config, caller script) of a Square location."""
    playbook = square_playbook(tmp_path / "playbooks")
    cfg = worker_config(tmp_path / "callticket.yaml", tmp_path / "playbooks", tmp_path / "data", square.url)
    script = tmp_path / "call.yaml"
    script.write_text(SCRIPT)
    return playbook, cfg, script


def test_validate_checks_the_schema_alone_and_with_the_config_the_live_catalog(tmp_path, square, setup):
    playbook, cfg, _ = setup
    alone = callticket("validate", str(playbook))
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "schema only" in alone.stderr and square.requests == []  # nothing fetched without the config

    broken = playbook.with_name("typo.yaml")
    broken.write_text(playbook.read_text().replace("  refresh_s:", "  refresh_ss:"))
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1) if "refresh_ss" in text)
    refused = callticket("validate", str(broken))
    assert refused.returncode == 1 and refused.stdout.strip() == f"{broken}:{line}: pos.refresh_ss: unknown key"

    live = callticket("validate", "--config", str(cfg), str(playbook))
    assert live.returncode == 0, live.stdout + live.stderr
    assert square.calls("GET", "/v2/catalog/list")

    square_playbook(tmp_path / "playbooks", upsell=True)  # offers 'coke', which this Square location does not sell
    lines = playbook.read_text().splitlines()
    offer = next(n for n, text in enumerate(lines, 1) if "offer: coke" in text)
    unknown = callticket("validate", "--config", str(cfg), str(playbook))
    assert unknown.returncode == 1
    assert f"{playbook}:{offer}: upsell[0].offer: unknown catalog item 'coke'" in unknown.stdout.splitlines()

    square.fail("500", times=100, path="/v2/catalog/list")
    down = callticket("validate", "--config", str(cfg), str(playbook))
    assert down.returncode == 1 and len(down.stdout.splitlines()) == 1
    assert down.stdout.startswith(f"{playbook}:0: pos: cannot fetch catalog from square: HTTP 500")


def test_simulate_with_the_config_commits_to_square_through_the_workers_outbox(tmp_path, square, setup):
    playbook, cfg, script = setup
    without = callticket("simulate", "--playbook", str(playbook), "--script", str(script), "--json")
    assert without.returncode == 1 and without.stdout == ""
    assert without.stderr.strip() == (f"{playbook}:0: pos: the catalog is in square: give --config FILE, "
                                      "the worker config with its credentials, to fetch it")

    run = callticket("simulate", "--playbook", str(playbook), "--script", str(script), "--config", str(cfg),
                     "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # exactly one JSON object
    assert set(result) == CONTRACT_KEYS and result["outcome"] == "committed"
    (order_id,) = square.orders
    key = result["pos"]["idempotency_key"]
    assert result["pos"] == {"adapter": "square", "order_id": order_id, "idempotency_key": key}
    (line,) = result["ticket"]["items"]
    assert (line["catalog_id"], line["variation"]["catalog_id"], line["quantity"]) == ("PIZZA", "PIZZA-L", 2)
    order = square.orders[order_id]
    assert order["line_items"][0]["catalog_object_id"] == "PIZZA-L" and order["total_money"]["amount"] == 3198
    # through the outbox of the config's data directory, as a worker's call would
    row = Outbox(tmp_path / "data" / "outbox.sqlite3").get(key)
    assert (row.adapter, row.state, row.order_id) == (f"square:{S.LOCATION}", "delivered", order_id)


def test_dry_run_prints_the_exact_square_order_and_sends_nothing(tmp_path, square, setup):
    playbook, cfg, script = setup
    args = ["simulate", "--playbook", str(playbook), "--script", str(script), "--config", str(cfg), "--json"]
    first = callticket(*args, "--dry-run")  # a caller Square does not know yet
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert set(result) == CONTRACT_KEYS and result["outcome"] == "committed" and result["pos"]["order_id"] is None
    assert square.orders == {} and square.customers == []
    assert not [r for r in square.requests if r.method == "POST" and r.path in ("/v2/orders", "/v2/customers")]
    lines = first.stderr.splitlines()
    assert lines[0] == f"dry run, not sent to square: POST {square.url}/v2/customers; the order names the " \
                       "record it would create as DRY-RUN (0 for a numeric id)"
    assert lines[2] == f"dry run, not sent to square: POST {square.url}/v2/orders"
    sketched = json.loads(lines[3])
    assert sketched["idempotency_key"] == result["pos"]["idempotency_key"]
    assert sketched["order"]["customer_id"] == "DRY-RUN"

    real = callticket(*args)  # the same call sent: Square now knows the caller
    assert real.returncode == 0, real.stderr
    again = callticket(*args, "--dry-run")
    assert again.returncode == 0, again.stderr
    key = json.loads(again.stdout)["pos"]["idempotency_key"]
    printed = again.stderr.splitlines()
    assert printed[0] == f"dry run, not sent to square: POST {square.url}/v2/orders" and len(printed) == 2
    sent = square.calls("POST", "/v2/orders")[-1]
    # byte for byte what the adapter sends, but for the call's own key
    real_key = json.loads(real.stdout)["pos"]["idempotency_key"]
    assert printed[1] == sent.body.decode().replace(real_key, key)
    assert len(square.orders) == 1


def test_chat_tries_a_new_square_menu_before_the_first_call(tmp_path, square, setup):
    playbook, cfg, _ = setup
    square.objects.append(  # added at the register today; no file of ours knows it
        {"type": "ITEM", "id": "CALZONE", "version": 12, "present_at_all_locations": True,
         "item_data": {"name": "Spinach Calzone", "variations": [
             S.variation("CALZONE-R", "CALZONE", "Regular", 1350)]}})
    typed = "\n".join(["a spinach calzone for pickup please", "how much is the spinach calzone?", "that's all",
                       "Omar", "yes", "yes"]) + "\n"
    chat = callticket("chat", "--playbook", str(playbook), "--config", str(cfg), "--caller", "+15551234567",
                      "--dry-run", stdin=typed)
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "1 Regular Spinach Calzone" in out and "$13.50" in out, out
    assert f"dry run, not sent to square: POST {square.url}/v2/orders" in out
    body = json.loads(out.split(f"POST {square.url}/v2/orders\n", 1)[1].splitlines()[0])
    assert [li["catalog_object_id"] for li in body["order"]["line_items"]] == ["CALZONE-R"]
    assert square.orders == {} and "outcome: committed" in out

    chat = callticket("chat", "--playbook", str(playbook), "--config", str(cfg), "--caller", "+15551234567",
                      stdin=typed)  # for real
    assert chat.returncode == 0, chat.stderr
    (order_id,) = square.orders
    assert f'"order_id": "{order_id}"' in chat.stdout


# Every other vendor with a fake: settings, the credentials the config gives, an item its fake sells,
# and the request that creates the order.
VENDORS = {
    "clover": ({"merchant_id": "MERCH1"}, {"api_token": "clover-token"}, "one margherita", "/atomic_order/orders"),
    "toast": ({"restaurant_guid": "0b2b6f0e-4b7c-4c1e-9a55-3c1f0d7a0001", "external_id_authority": "CALLTICKET"},
              {"client_id": "toast-client", "client_secret": "toast-secret"}, "one fries", "/orders/v2/orders"),
    "loyverse": ({"store_id": "5f0c3b5e-0000-4000-8000-00000000s001",
                  "payment_type.pay_at_pickup": "a0a0a0a0-0000-4000-8000-0000000000p1"},
                 {"access_token": "loyverse-token"}, "one horchata", "/receipts"),
    "eposnow": ({}, {"api_key": "epos-key", "api_secret": "epos-secret"}, "one fish and chips", "/Transaction"),
    "revel": ({"establishment_id": "2", "dining_option.pickup": "1", "dining_option.delivery": "2"},
              {"api_key": "revel-key", "api_secret": "revel-secret"}, "one pad thai", "/specialresources/cart/submit/"),
}
READS = {"toast": ("/authentication/v1/authentication/login",)}  # the only POST here that changes nothing


def _at(body: str) -> str:
    """The request with its clock readings blanked (Epos Now's DateTime is when it was sent)."""
    import re

    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>", body)


def _fake(vendor: str):
    import importlib

    module = importlib.import_module(f"pos_fakes.{vendor}")
    cls = next(getattr(module, n) for n in dir(module) if n.startswith("Fake") and n != "FakeVendor")
    return cls().start()


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_every_vendor_validates_simulates_and_dry_runs_from_the_worker_config(tmp_path, vendor):
    settings, credentials, item, order_path = VENDORS[vendor]
    fake = _fake(vendor)
    try:
        text = (ROOT / "playbooks" / "pizzeria.yaml").read_text()
        text = text.replace("  adapter: local\n  catalog: catalogs/pizzeria.yaml\n",
                            f"  adapter: {vendor}\n  settings: {json.dumps(settings)}\n")
        text = text[:text.index("upsell:")] + text[text.index("escalation:"):]  # offers the local catalog's coke
        if vendor == "eposnow":
            text = text.replace("currency: USD", "currency: GBP")
        (tmp_path / "playbooks").mkdir()
        playbook = tmp_path / "playbooks" / f"{vendor}shop.yaml"
        playbook.write_text(text)
        secrets = ", ".join(f"{name}: {{file: {tmp_path / name}}}" for name in credentials)
        for name, value in credentials.items():
            (tmp_path / name).write_text(value)
        cfg = tmp_path / "callticket.yaml"
        cfg.write_text(f"data_dir: {tmp_path / 'data'}\nplaybooks: {{dir: {tmp_path / 'playbooks'}}}\n"
                       f"pos:\n  credentials: {{{vendor}shop: {{{secrets}}}}}\n"
                       f"  base_urls: {{{vendor}: '{fake.url}'}}\n")
        script = tmp_path / "call.yaml"
        script.write_text(SCRIPT.replace("two large pepperoni pizzas", item))

        checked = callticket("validate", "--config", str(cfg), str(playbook))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        args = ["simulate", "--playbook", str(playbook), "--script", str(script), "--config", str(cfg), "--json"]
        real = callticket(*args)
        assert real.returncode == 0, real.stderr
        result = json.loads(real.stdout)
        assert set(result) == CONTRACT_KEYS and result["outcome"] == "committed", result["turns"]
        assert result["pos"]["adapter"] == vendor and result["pos"]["order_id"]
        (sent,) = [r for r in fake.requests if r.method == "POST" and r.path.endswith(order_path)]

        seen = len(fake.requests)
        dry = callticket(*args, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        key = json.loads(dry.stdout)["pos"]["idempotency_key"]
        writes = [r for r in fake.requests[seen:] if r.method != "GET" and not r.path.endswith(READS.get(vendor, ()))]
        assert writes == [], "a dry run wrote to the POS"
        header, body = dry.stderr.splitlines()[-2:]
        assert header == f"dry run, not sent to {vendor}: POST {fake.url}{sent.path}"
        # the same bytes as the order sent, but for the call's own key and the moment of sending
        assert _at(body) == _at(sent.body.decode().replace(result["pos"]["idempotency_key"], key))
        assert fake.violations == []
    finally:
        fake.stop()
