"""`callticket bench outbox --json`: exactly-once delivery under faults and crashes,
and how fast an 86 reaches the dialogue.

Delivery: N confirmed tickets go into the outbox (SQLite, then PostgreSQL);
a sender process delivers them through the real Loyverse adapter to a POS
that answers 429, 5xx or a timeout on `--fault-rate` of all requests and
keeps no idempotency of its own, while the sender is killed with SIGKILL at
`--kills` random moments and restarted. The POS then counts what it holds:
`orders_created` (must equal N), `duplicates` and `lost` (must be 0).

Propagation: a signed webhook says an item is out (pushed stock level, or a
catalog change that needs a re-sync); `propagation_ms_*` run from sending the
webhook to `CatalogStore.current()` -- what the dialogue reads each turn --
showing the item unavailable.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SENDER_TIMEOUT_S = 0.5


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("outbox", help="exactly-once POS delivery under faults and SIGKILL; 86 latency")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--tickets", type=int, default=1000)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--fault-rate", type=float, default=0.3)
    p.add_argument("--workers", type=int, default=8, help="sender threads")
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    p.add_argument("--dsn", default=None, help="use this PostgreSQL instead of starting one")
    p.add_argument("--webhooks", type=int, default=60, help="86 events for the propagation figures")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--blind-retries", action="store_true",
                   help="control run: the sender resends without looking first (expect duplicates)")
    p.add_argument("--max-s", type=float, default=240.0, help="give up on a backend after this long")
    p.set_defaults(func=run)


# ------------------------------------------------------------------ child

def _adapter(url: str):
    from adapters.loyverse import LoyverseAdapter
    from bench.outbox_pos import PAY_LATER, STORE, TOKEN

    return LoyverseAdapter({"store_id": STORE, "base_url": url, "payment_type.pay_at_pickup": PAY_LATER,
                            "customers": "false", "timeout_s": str(SENDER_TIMEOUT_S)},
                           env={"LOYVERSE_ACCESS_TOKEN": TOKEN})


def child(dsn: str, url: str, workers: int, blind: bool = False) -> None:
    """The sender process the benchmark kills."""
    from adapters.base import Capabilities
    from agi.outbox import Outbox, RetryPolicy, Sender

    adapter = _adapter(url)
    if blind:  # pretend the POS dedupes: the outbox then never looks before resending
        adapter.capabilities = Capabilities(native_idempotency=True)
    box = Outbox(dsn, RetryPolicy(base_s=0.05, cap_s=2.0, max_age_s=3600, lease_s=30))
    Sender(box, {adapter.name: adapter}, workers=workers, poll_s=0.05).start()
    threading.Event().wait()  # until killed


# --------------------------------------------------------------- delivery

def _tickets(n: int, rng: random.Random):
    from adapters.money import from_decimal
    from agi.tickets import Customer, Fulfillment, OrderLine, Ticket
    from bench.outbox_pos import VARIANTS

    out = []
    ids = list(VARIANTS)
    for _ in range(n):
        lines = []
        for vid in rng.sample(ids, rng.randint(1, 3)):
            lines.append(OrderLine(catalog_id=f"it-{vid}", name=f"dish {vid}", variation_id=vid,
                                   quantity=rng.randint(1, 3), unit_price_minor=from_decimal(VARIANTS[vid], "USD")))
        t = Ticket(items=lines, fulfillment=Fulfillment(time="18:30"), customer=Customer(name="Bench"))
        out.append(t.model_copy(update={"total_minor": sum(li.line_total() for li in t.items)}))
    return out


def _spawn(dsn: str, url: str, workers: int, blind: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.outbox", "--child", dsn, url, str(workers), str(int(blind))],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def deliver(dsn: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from agi.outbox import Outbox
    from bench.outbox_pos import FlakyPos

    pos = FlakyPos(args.fault_rate, timeout_s=SENDER_TIMEOUT_S * 1.5, seed=rng.randint(0, 2**31))
    url = pos.start()
    box = Outbox(dsn)
    tickets = _tickets(args.tickets, rng)
    keys = [f"bench-{rng.getrandbits(64):016x}-{n}" for n in range(len(tickets))]
    for t, k in zip(tickets, keys):
        box.enqueue(t, k, "loyverse")
    # Kill when the POS has seen a random share of the work: spread over the whole run.
    window = range(max(1, args.tickets // 50), max(2, args.tickets * 4 // 5))
    kill_at = sorted(rng.sample(window, min(args.kills, len(window))))
    started = time.monotonic()
    proc = _spawn(dsn, url, args.workers, args.blind_retries)
    kills = 0
    try:
        while time.monotonic() - started < args.max_s:
            pending, dead = box.counts()
            done = args.tickets - pending - dead
            if pending == 0 and (not kill_at or done < kill_at[0]):
                break
            if kill_at and done >= kill_at[0]:
                kill_at.pop(0)
                time.sleep(rng.uniform(0, 0.05))  # land anywhere in a request, not only between them
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = _spawn(dsn, url, args.workers, args.blind_retries)
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    pending, dead = box.counts()
    rows = {r.key: r for r in box.rows(None, args.tickets * 2)}
    created = len(pos.receipts)
    distinct = len(pos.by_order)
    from adapters.base import external_ref

    lost = sum(1 for k in keys if pos.by_order[external_ref(k, 64)] == 0)
    pos.stop()
    box.close()
    return {
        "tickets": args.tickets, "orders_created": created, "duplicates": created - distinct, "lost": lost,
        "dead_letter": dead, "still_pending": pending, "kills": kills, "elapsed_s": round(elapsed, 2),
        "throughput_tickets_per_s": round(args.tickets / elapsed, 1) if elapsed else None,
        "pos_requests": pos.requests, "faults": dict(pos.faults),
        "attempts": sum(r.attempts for r in rows.values()),
    }


# ------------------------------------------------------------ propagation

def propagation(n: int, rng: random.Random) -> dict[str, Any]:
    """Webhook sent -> CatalogStore.current() shows the item 86'd (what the next dialogue turn reads)."""
    import httpx

    from adapters.signing import hmac_b64
    from agi.catalog_sync import CatalogStore
    from agi.webhooks import WebhookServer, webhook_app
    from bench.outbox_pos import STORE, VARIANTS, FlakyPos

    secret = "bench-webhook-secret"
    pos = FlakyPos(fault_rate=0.0)
    url = pos.start()
    adapter = _adapter(url)
    adapter.webhook_secret = secret
    store = CatalogStore(refresh_s=60).start()
    store.register("bench", adapter)
    store.current("bench")
    server = WebhookServer(webhook_app(store)).start()
    client = httpx.Client(timeout=10)
    push: list[float] = []
    resync: list[float] = []
    try:
        for i in range(n):
            vid = rng.choice(list(VARIANTS))
            item = f"it-{vid}"
            pushed = i % 2 == 0
            if pushed:
                event = {"merchant_id": "m", "type": "inventory_levels.update", "created_at": "x",
                         "inventory_levels": [{"variant_id": vid, "store_id": STORE, "in_stock": 0}]}
            else:
                pos.available[vid] = False  # 86'd at the register; the webhook only says "items changed"
                event = {"merchant_id": "m", "type": "items.update", "created_at": "x", "items": [{"id": item}]}
            body = json.dumps(event).encode()
            sent = time.perf_counter()
            client.post(f"{server.url}/webhooks/bench", content=body,
                        headers={"X-Loyverse-Signature": hmac_b64(secret, body, "sha1")})
            while store.current("bench").is_available(item):
                if time.perf_counter() - sent > 10:
                    raise RuntimeError(f"the 86 of {item} never reached the catalog store")
                time.sleep(0.0005)
            (push if pushed else resync).append((time.perf_counter() - sent) * 1000)
            # Back in stock before the next round (not measured).
            pos.available[vid] = True
            store.refresh("bench")
    finally:
        client.close()
        server.stop()
        store.stop()
        pos.stop()
    both = sorted(push + resync)
    return {"propagation_ms_p50": round(_pct(both, 50), 2), "propagation_ms_p95": round(_pct(both, 95), 2),
            "propagation_ms_p95_push": round(_pct(sorted(push), 95), 2),
            "propagation_ms_p95_resync": round(_pct(sorted(resync), 95), 2), "webhooks": n}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


# ------------------------------------------------------------------- main

def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    result: dict[str, Any] = {"tickets": args.tickets, "fault_rate": args.fault_rate, "kills": args.kills,
                              "backends": {}}
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with tempfile.TemporaryDirectory(prefix="callticket-bench-") as tmp:
        for backend in backends:
            if backend == "sqlite":
                result["backends"]["sqlite"] = deliver(str(Path(tmp) / "outbox.sqlite3"), args, rng)
            elif backend == "postgres":
                if args.dsn:
                    result["backends"]["postgres"] = deliver(args.dsn, args, rng)
                else:
                    from agi.outbox_pgserver import TempPostgres

                    with TempPostgres(fsync=True) as pg:
                        result["backends"]["postgres"] = deliver(pg.dsn, args, rng)
            else:
                print(f"unknown backend {backend!r} (sqlite, postgres)", file=sys.stderr)
                return 2
    runs = list(result["backends"].values())
    result["orders_created"] = min(r["orders_created"] for r in runs) if runs else 0
    result["duplicates"] = sum(r["duplicates"] for r in runs)
    result["lost"] = sum(r["lost"] for r in runs)
    result["throughput_tickets_per_s"] = min(r["throughput_tickets_per_s"] or 0 for r in runs) if runs else 0
    if args.webhooks > 0:
        result.update(propagation(args.webhooks, rng))
    ok = all(r["orders_created"] == args.tickets and r["duplicates"] == 0 and r["lost"] == 0 for r in runs)
    result["ok"] = ok and result.get("propagation_ms_p95", 0) <= 1000
    if args.json:
        print(json.dumps(result))
    else:
        for name, r in result["backends"].items():
            print(f"{name}: {r['orders_created']} orders for {r['tickets']} tickets, {r['duplicates']} duplicates, "
                  f"{r['lost']} lost, {r['kills']} SIGKILLs, {r['throughput_tickets_per_s']} tickets/s")
        if "propagation_ms_p95" in result:
            print(f"86 propagation p95: {result['propagation_ms_p95']} ms")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
    else:
        parser = argparse.ArgumentParser(prog="bench.outbox")
        sub = parser.add_subparsers()
        register(sub)
        ns = parser.parse_args(["outbox", *sys.argv[1:]])
        sys.exit(ns.func(ns))
