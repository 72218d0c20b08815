"""Signed webhook events of the six vendors, as each one signs and dates them.

`VENDORS[name]` builds the vendor's real adapter (no network: only its
webhook parsing is used) and signed events for it: an availability change
of one catalog id when the vendor sends those, else the vendor's "something
changed" event (a re-sync). Event times are the vendor's own fields: Square
`created_at`, Toast `timestamp`, Clover each update's `ts` (epoch ms),
Loyverse `created_at`; Epos Now and Revel date nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.base import Adapter
from adapters.clover import CloverAdapter
from adapters.eposnow import EposNowAdapter
from adapters.loyverse import LoyverseAdapter
from adapters.revel import RevelAdapter
from adapters.signing import hmac_b64, hmac_hex
from adapters.square import SquareAdapter
from adapters.toast import ToastAdapter

HOOK_URL = "https://hooks.example.test/webhooks/shop"
ITEM = "ITEM-1"  # the catalog id the availability events change


def _iso(at: float, z: str = "Z") -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + z


@dataclass
class Vendor:
    name: str
    adapter: Callable[[], Adapter]
    # (at: epoch seconds, available) -> (headers, body); a fresh event id each call
    event: Callable[[float, bool], tuple[dict[str, str], bytes]]
    dated: bool  # the vendor puts the event's time in it
    availability: bool  # its events change availability (else they ask for a re-sync)


def _square() -> Adapter:
    return SquareAdapter({"location_id": "L1", "webhook_url": HOOK_URL},
                         env={"SQUARE_ACCESS_TOKEN": "sq-token-1234", "SQUARE_WEBHOOK_SIGNATURE_KEY": "sq-key"})


def _square_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"merchant_id": "M", "type": "inventory.count.updated", "event_id": str(uuid.uuid4()),
                       "created_at": _iso(at), "data": {"type": "inventory_counts", "id": "x", "object": {
                           "inventory_counts": [{"catalog_object_id": ITEM, "catalog_object_type": "ITEM_VARIATION",
                                                 "state": "IN_STOCK", "location_id": "L1",
                                                 "quantity": "5" if available else "0",
                                                 "calculated_at": _iso(at)}]}}}).encode()
    return {"x-square-hmacsha256-signature": hmac_b64("sq-key", HOOK_URL.encode() + body)}, body


def _toast() -> Adapter:
    return ToastAdapter({"restaurant_guid": "R1", "external_id_authority": "CT"},
                        env={"TOAST_CLIENT_ID": "id", "TOAST_CLIENT_SECRET": "toast-secret-1",
                             "TOAST_WEBHOOK_SECRET": "ts-key"})


def _toast_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"timestamp": _iso(at, "+0000"), "eventCategory": "stock",
                       "eventType": "in_stock" if available else "out_of_stock", "guid": str(uuid.uuid4()),
                       "details": {"itemGuid": ITEM, "restaurantGuid": "R1",
                                   "status": "IN_STOCK" if available else "OUT_OF_STOCK"}}).encode()
    return {"Toast-Signature": hmac_b64("ts-key", body)}, body


def _clover() -> Adapter:
    return CloverAdapter({"merchant_id": "MID"}, env={"CLOVER_API_TOKEN": "cl-token-1", "CLOVER_WEBHOOK_AUTH_CODE": "cl-auth"})


def _clover_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"appId": "APP", "merchants": {"MID": [
        {"objectId": f"I:{ITEM}", "type": "UPDATE", "ts": int(at * 1000)},
        {"objectId": f"IS:{uuid.uuid4().hex[:8]}", "type": "UPDATE", "ts": int(at * 1000)}]}}).encode()
    return {"X-Clover-Auth": "cl-auth"}, body


def _loyverse() -> Adapter:
    return LoyverseAdapter({"store_id": "S1"}, env={"LOYVERSE_ACCESS_TOKEN": "ly-token-1", "LOYVERSE_CLIENT_SECRET": "ly-key"})


def _loyverse_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"merchant_id": "m", "type": "inventory_levels.update", "created_at": _iso(at),
                       "inventory_levels": [{"variant_id": ITEM, "store_id": "S1", "in_stock": 4 if available else 0,
                                             "updated_at": _iso(at), "nonce": str(uuid.uuid4())}]}).encode()
    return {"X-Loyverse-Signature": hmac_b64("ly-key", body, "sha1")}, body


def _eposnow() -> Adapter:
    return EposNowAdapter({"location_id": "7"}, env={"EPOSNOW_API_KEY": "ep-key", "EPOSNOW_API_SECRET": "ep-secret-1",
                                                     "EPOSNOW_WEBHOOK_SECRET": "ep-hook"})


def _eposnow_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"ProductId": ITEM, "Id": str(uuid.uuid4())}).encode()
    return {"X-EposNow-Signature": hmac_b64("ep-hook", body)}, body


def _revel() -> Adapter:
    return RevelAdapter({"establishment_id": "2", "subdomain": "shop"},
                        env={"REVEL_API_KEY": "rv-key", "REVEL_API_SECRET": "rv-secret-1",
                             "REVEL_WEBHOOK_SECRET": "rv-hook"})


def _revel_event(at: float, available: bool) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"product": ITEM, "id": str(uuid.uuid4())}).encode()
    return {"X-Revel-Signature": hmac_hex("rv-hook", body, "sha256"), "X-Revel-Event-Type": "inout.stock"}, body


VENDORS = {v.name: v for v in (
    Vendor("square", _square, _square_event, dated=True, availability=True),
    Vendor("toast", _toast, _toast_event, dated=True, availability=True),
    Vendor("clover", _clover, _clover_event, dated=True, availability=False),
    Vendor("loyverse", _loyverse, _loyverse_event, dated=True, availability=True),
    Vendor("eposnow", _eposnow, _eposnow_event, dated=False, availability=False),
    Vendor("revel", _revel, _revel_event, dated=False, availability=False),
)}
