"""`callticket pos ...` (the embedded POS, any POS's catalog) and `callticket outbox ...`.

    callticket pos orders [--playbook P] [--data-dir D] [--json]   commits in the local POS
    callticket pos 86 ID --playbook P / pos restock ID --playbook P  mark out of / back in stock
    callticket pos catalog --playbook P [--config F] [--json]        the catalog as the POS gives it
    callticket outbox list [--state pending|dead|delivered]          queued tickets
    callticket outbox retry KEY                                      give a dead-letter ticket another try
    callticket outbox send [--config F] [--playbook P ...]           run the sender until stopped

Every adapter here is built as serve-agi and serve-esl build it
(agi.pos_adapter): a vendor's credentials come from the worker config's
`pos.credentials.<Playbook file stem>`, its API from `pos.base_urls`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from agi.tickets import format_money

OUTBOX_ENV = "CALLTICKET_OUTBOX_DSN"


def register(subparsers: argparse._SubParsersAction) -> None:
    pos = subparsers.add_parser("pos", help="the embedded POS and POS catalogs")
    sub = pos.add_subparsers(dest="pos_command", metavar="COMMAND")
    pos.set_defaults(func=lambda a: (pos.print_help(sys.stderr), 2)[1])

    p = sub.add_parser("orders", help="orders committed to the embedded local POS, newest first")
    _data_dir(p)
    p.add_argument("--playbook", type=Path, default=None, help="only this Playbook's location")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run_orders)

    for name, available in (("86", False), ("restock", True)):
        p = sub.add_parser(name, help=f"mark an item, variation or modifier {'out of' if not available else 'back in'}"
                                      " stock in the local POS")
        p.add_argument("object_id", metavar="ID")
        p.add_argument("--playbook", type=Path, required=True)
        _data_dir(p)
        p.set_defaults(func=run_availability, available=available)

    p = sub.add_parser("catalog", help="fetch the catalog from the Playbook's POS and print it")
    p.add_argument("--playbook", type=Path, required=True)
    _data_dir(p)
    p.add_argument("--config", type=Path, default=None,
                   help="worker config with the POS credentials (a vendor POS; default $CALLTICKET_CONFIG)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_catalog)

    box = subparsers.add_parser("outbox", help="the durable queue between confirmed calls and the POS")
    bsub = box.add_subparsers(dest="outbox_command", metavar="COMMAND")
    box.set_defaults(func=lambda a: (box.print_help(sys.stderr), 2)[1])
    p = bsub.add_parser("list", help="queued tickets, newest first")
    _outbox_args(p)
    p.add_argument("--state", choices=("pending", "delivered", "dead"), default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_list)
    p = bsub.add_parser("retry", help="move a dead-letter ticket back to pending")
    _outbox_args(p)
    p.add_argument("key", metavar="KEY")
    p.set_defaults(func=run_retry)
    p = bsub.add_parser("send", help="deliver queued tickets to the POS of each Playbook until stopped")
    _outbox_args(p)
    p.add_argument("--playbook", type=Path, nargs="+", default=None,
                   help="default: every Playbook in the worker config's playbooks.dir")
    p.add_argument("--config", type=Path, default=None,
                   help="worker config: POS credentials, outbox, logging "
                        "(default $CALLTICKET_CONFIG or /etc/callticket/callticket.yaml)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run_send)


def _data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="default $CALLTICKET_DATA_DIR or ./var")


def _outbox_args(p: argparse.ArgumentParser) -> None:
    _data_dir(p)
    p.add_argument("--dsn", default=None,
                   help=f"postgresql://... or sqlite:PATH (default ${OUTBOX_ENV}, else <data-dir>/outbox.sqlite3)")


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("CALLTICKET_DATA_DIR", "var"))


def _outbox(args: argparse.Namespace, password: str | None = None):
    from agi.outbox import Outbox

    dsn = args.dsn or os.environ.get(OUTBOX_ENV) or str(_dir(args) / "outbox.sqlite3")
    return Outbox(dsn, password=password or os.environ.get("CALLTICKET_OUTBOX_PASSWORD"))


def _adapter(path: Path, data_dir: Path, config=None):  # type: ignore[no-untyped-def]
    """The adapter a Playbook names, built as the workers build it (vendor Playbooks need no local catalog)."""
    from agi.playbook import Playbook
    from agi.pos_adapter import adapter_for
    from agi.yamlconf import load_model

    return adapter_for(path, load_model(path, Playbook), data_dir, config)


def _config(path: Path | None):  # type: ignore[no-untyped-def]
    """The worker config (`--config`, $CALLTICKET_CONFIG, the default path, else built-in defaults)."""
    from agi.config import config_path, load_config

    return load_config(config_path(path))


def _fail(exc: Exception) -> int:
    from agi.yamlconf import ConfigError

    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    else:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
    return 1


# ------------------------------------------------------------------ pos

def run_orders(args: argparse.Namespace) -> int:
    from adapters.local import DB_NAME, read_orders

    location = None
    if args.playbook:
        try:
            adapter = _adapter(args.playbook, _dir(args))
        except Exception as exc:
            return _fail(exc)
        if adapter.name != "local":
            print(f"{args.playbook} commits to {adapter.name}, not the local POS", file=sys.stderr)
            return 1
        location = adapter.location
    orders = read_orders(_dir(args) / DB_NAME, location, args.limit)
    for o in orders:
        t = o.ticket
        if args.json:
            print(json.dumps({"order_id": o.order_id, "location": o.location, "status": o.status,
                              "created_at": o.created_at.isoformat(), "idempotency_key": o.idempotency_key,
                              "channel": o.channel, "ticket": t.to_public()}, ensure_ascii=False))
            continue
        when = o.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        who = " ".join(p for p in (t.customer.name, _masked(t.customer.phone)) if p) or "-"
        ful = f"{t.fulfillment.type.value} {t.fulfillment.time or 'asap'}" if t.fulfillment else t.kind.value
        print(f"#{o.order_id}  {when}  {o.location:<12} {o.status:<8} {format_money(t.total_minor, t.currency):>9}"
              f"  {ful:<16} {who}")
        for line in t.items:
            print(f"        {line.describe()}")
    if not orders and not args.json:
        print("no orders yet", file=sys.stderr)
    return 0


def _masked(phone: str | None) -> str | None:
    from agi.dialogue.policy import mask_number

    return mask_number(phone) if phone else None


def run_availability(args: argparse.Namespace) -> int:
    try:
        adapter = _adapter(args.playbook, _dir(args))
        if adapter.name != "local":
            print(f"86 {adapter.name} items at the register; the webhook brings the change here", file=sys.stderr)
            return 1
        adapter.set_available(args.object_id, args.available)
    except Exception as exc:
        return _fail(exc)
    print(f"{args.object_id}: {'back in stock' if args.available else 'out of stock (86)'}")
    return 0


def run_catalog(args: argparse.Namespace) -> int:
    try:
        catalog = _adapter(args.playbook, _dir(args), _config(args.config)).fetch_catalog()
    except Exception as exc:
        return _fail(exc)
    if args.json:
        print(catalog.model_dump_json())
        return 0
    for item in catalog.items:
        mark = "" if item.available else "  [86]"
        prices = ", ".join(f"{v.name} {format_money(v.price, catalog.currency)}{'' if v.available else ' [86]'}"
                           for v in item.variations) or format_money(item.base_price(), catalog.currency)
        print(f"{item.id:<28} {item.name} ({prices}){mark}")
    return 0


# --------------------------------------------------------------- outbox

def run_list(args: argparse.Namespace) -> int:
    box = _outbox(args)
    for row in box.rows(args.state, args.limit):
        created = datetime.fromtimestamp(row.created_at, UTC)
        if args.json:
            print(json.dumps({"key": row.key, "adapter": row.adapter, "state": row.state, "attempts": row.attempts,
                              "order_id": row.order_id, "last_error": row.last_error,
                              "created_at": created.isoformat()}))
        else:
            print(f"{row.key:<40} {row.adapter:<16} {row.state:<9} attempts={row.attempts:<3} "
                  f"order={row.order_id or '-'}  {row.last_error or ''}")
    pending, dead = box.counts()
    if not args.json:
        print(f"pending {pending}, dead letter {dead}", file=sys.stderr)
    return 0


def run_retry(args: argparse.Namespace) -> int:
    if _outbox(args).requeue(args.key):
        print(f"{args.key}: pending again")
        return 0
    print(f"{args.key}: not in dead letter", file=sys.stderr)
    return 1


def run_send(args: argparse.Namespace) -> int:
    from adapters.registry import outbox_name
    from agi.commands.worker_start import load_config_and_logging
    from agi.outbox import Sender

    # The workers' config and logging (secrets scrubbed): the same credentials,
    # base URLs, outbox and data directory as the calls that queued the tickets.
    config = load_config_and_logging(args)
    if config is None:
        return 1
    args.data_dir = args.data_dir or config.data_dir
    args.dsn = args.dsn or config.outbox.dsn
    adapters = {}
    try:
        paths = args.playbook
        if paths is None:
            paths = sorted(config.playbooks.dir.glob("*.yaml"))
            if not paths:
                raise ValueError(f"no Playbooks in {config.playbooks.dir}")
        for path in paths:
            adapter = _adapter(path, _dir(args), config)
            adapters[outbox_name(adapter)] = adapter
    except Exception as exc:
        return _fail(exc)
    # Rows queued under the bare vendor name go to that vendor's only adapter.
    by_vendor: dict[str, list] = {}
    for a in adapters.values():
        by_vendor.setdefault(a.name, []).append(a)
    for vendor, found in by_vendor.items():
        if len(found) == 1:
            adapters.setdefault(vendor, found[0])
    outbox = _outbox(args, config.outbox.password.value() if config.outbox.password else None)
    ops = _ops_server(config, outbox)
    sender = Sender(outbox, adapters, workers=args.workers)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sender.start()
    print(f"sending for {', '.join(sorted(adapters))}", file=sys.stderr, flush=True)
    stop.wait()
    sender.close()
    if ops is not None:
        ops.stop()
    return 0


def _ops_server(config, outbox):  # type: ignore[no-untyped-def]
    """/metrics (pending and dead-letter tickets; POS latency, which the adapters report), /healthz and
    /readyz on `metrics.ports.outbox`."""
    from agi import metrics
    from agi.ops_http import Lifecycle, OpsServer, outbox_check

    if not config.metrics.enabled or config.source is None:  # built-in defaults: no fixed port to take
        return None
    metrics.METRICS.watch_outbox(outbox.counts)
    lifecycle = Lifecycle()
    password = config.outbox.password.value() if config.outbox.password else None
    lifecycle.add_check("outbox", outbox_check(outbox.dsn_or_path, config.data_dir, password))
    try:
        ops = OpsServer(config.metrics.listen("outbox"), lifecycle).start()
    except OSError as exc:
        print(f"outbox send: metrics on {config.metrics.listen('outbox')}: {exc}", file=sys.stderr)
        return None
    print(f"outbox send: metrics and health on {ops.url}", file=sys.stderr, flush=True)
    return ops
