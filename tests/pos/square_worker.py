"""A worker set up as an operator sets one up for a Square location: a Playbook
with no catalog file, the worker config (credentials, base URL, webhooks), and
the webhooks Square would send it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pos_fakes import square as S

from adapters.signing import hmac_b64

ROOT = Path(__file__).resolve().parents[2]
NAME = "squarepizza"  # the Playbook's file stem: its location key and webhook path
PUBLIC_URL = "https://pbx.example.test/callticket/webhooks"
NOTIFICATION_URL = f"{PUBLIC_URL}/{NAME}"  # what Square signs, with the body
HOOK_KEY = "sq-webhook-signature-key"
ENV = {"CT_TEST_SQUARE_TOKEN": S.TOKEN, "CT_TEST_SQUARE_HOOK_KEY": HOOK_KEY}


def square_playbook(directory: Path, *, upsell: bool = False, refresh_s: int = 60, open_all_day: bool = False) -> Path:
    """Tony's Pizzeria on Square: `pos: {adapter: square}`, no `catalog:` file next to it."""
    text = (ROOT / "playbooks" / "pizzeria.yaml").read_text()
    text = text.replace("  adapter: local\n  catalog: catalogs/pizzeria.yaml\n",
                        f"  adapter: square\n  refresh_s: {refresh_s}\n  settings: {{location_id: {S.LOCATION}}}\n")
    text = text.replace("id: pizzeria", f"id: {NAME}", 1).replace("languages: [en, es, zh]", "languages: [en]")
    if not upsell:  # the bundled upsell offers the local catalog's 'coke'
        text = text[:text.index("upsell:")] + text[text.index("escalation:"):]
    if open_all_day:
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        hours = "".join(f"    {d}: [\"00:00-24:00\"]\n" for d in days)
        start = text.index("  hours:\n")
        end = text.index("  delivery_area:")
        text = text[:start] + "  hours:\n" + hours + text[end:]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{NAME}.yaml"
    path.write_text(text)
    assert not (directory / "catalogs").exists()
    return path


def worker_config(path: Path, playbooks: Path, data_dir: Path, square_url: str, *, poll_s: float = 2.0,
                  webhook_port: int = 0, extra: str = "") -> Path:
    path.write_text(
        f"data_dir: {data_dir}\n"
        f"playbooks: {{dir: {playbooks}, poll_s: {poll_s}}}\n"
        "pos:\n"
        f"  credentials: {{{NAME}: {{access_token: {{env: CT_TEST_SQUARE_TOKEN}}}}}}\n"
        f"  base_urls: {{square: '{square_url}'}}\n"
        "webhooks:\n"
        "  enabled: true\n"
        f"  listen: {{host: 127.0.0.1, port: {webhook_port}}}\n"
        f"  public_url: {PUBLIC_URL}\n"
        "  signing_keys: {square: {env: CT_TEST_SQUARE_HOOK_KEY}}\n" + extra
    )
    return path


def out_of_stock(variation: str, event_id: str = "evt-1") -> bytes:
    """Square's inventory.count.updated: the variation's count at the location fell to 0, just now."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    return json.dumps({
        "merchant_id": "M1", "type": "inventory.count.updated", "event_id": event_id,
        "created_at": now,
        "data": {"type": "inventory_counts", "id": event_id, "object": {"inventory_counts": [
            {"catalog_object_id": variation, "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
             "location_id": S.LOCATION, "quantity": "0", "calculated_at": now}]}},
    }).encode()


def signed(body: bytes, key: str = HOOK_KEY) -> dict[str, str]:
    return {"X-Square-HmacSha256-Signature": hmac_b64(key, NOTIFICATION_URL.encode() + body)}


@pytest.fixture
def square():
    """The fake Square API; every request it saw must have kept to Square's spec."""
    fake = S.FakeSquare().start()
    yield fake
    fake.stop()
    assert fake.violations == []
