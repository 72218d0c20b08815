"""`callticket calls [--since 2h] [--outcome committed]` and `callticket calls show ID`."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from agi.commands.worker_start import load_worker_config
from agi.records import CallRecord, CallRecords

OUTCOMES = ("committed", "transferred", "transfer_failed", "hung_up", "refused", "error", "in_progress")
_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("calls", help="list call records (or `calls show ID`)")
    p.add_argument("--config", type=Path, default=None, help="worker config (default $CALLTICKET_CONFIG or /etc/callticket/callticket.yaml)")
    p.add_argument("--since", type=since_arg, default=None, help="e.g. 30m, 2h, 7d or 2026-05-01[T09:00]")
    p.add_argument("--outcome", choices=OUTCOMES, default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run_list)
    sub = p.add_subparsers(dest="calls_command", metavar="show")
    s = sub.add_parser("show", help="print one call: transcript, ticket, POS receipt, transfer")
    s.add_argument("call_id", metavar="ID", help="call id, SERVER/ID when two servers used it (or a prefix)")
    s.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    s.set_defaults(func=run_show)


def since_arg(text: str) -> float:
    """'2h' -> now minus two hours; an ISO date or time (UTC unless it says) -> that moment."""
    m = _AGO.match(text.strip().lower())
    if m:
        return time.time() - int(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is neither a duration (30m, 2h, 7d) nor a date (2026-05-01)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _open(args: argparse.Namespace) -> CallRecords | int:
    """The records of the configured worker, or the exit code when there are none."""
    config = load_worker_config(args)
    if config is None:
        return 1
    if not config.records.enabled:
        print("call records are off (records.enabled: false)", file=sys.stderr)
        return 0
    dsn = config.records_dsn
    if dsn.startswith("sqlite:") and not Path(dsn.removeprefix("sqlite:")).exists():
        print(f"no call records yet ({dsn.removeprefix('sqlite:')})", file=sys.stderr)
        return 0
    records = CallRecords.from_config(config)
    assert records is not None
    return records


def run_list(args: argparse.Namespace) -> int:
    records = _open(args)
    if isinstance(records, int):
        return records
    try:
        rows = records.list(since=args.since, outcome=args.outcome, limit=args.limit)
    finally:
        records.close()
    if args.json:
        for r in rows:
            print(json.dumps(_summary(r), ensure_ascii=False))
        return 0
    if not rows:
        print("no calls", file=sys.stderr)
        return 0
    print(f"{'STARTED (UTC)':19}  {'SECS':>5}  {'PBX':10}  {'ROUTE':14}  {'CALLER':14}  {'OUTCOME':15}  {'TOTAL':>8}  CALL ID")
    for r in rows:
        s = _summary(r)
        total = "" if s["total_minor"] is None else f"{s['total_minor'] / 100:.2f}"
        print(f"{_hm(r.started_at):19}  {_secs(r):>5}  {r.pbx[:10]:10}  {(r.route or '')[:14]:14}  "
              f"{(r.caller or '')[:14]:14}  {(r.outcome or 'in progress'):15}  {total:>8}  {r.ref}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    records = _open(args)
    if isinstance(records, int):
        if records == 0:
            print(f"no call '{args.call_id}'", file=sys.stderr)
        return 1
    try:
        record = records.get(args.call_id)
    finally:
        records.close()
    if record is None:
        print(f"no call '{args.call_id}'", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(record.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print_record(record)
    return 0


def print_record(r: CallRecord) -> None:
    print(f"call      {r.ref}")
    print(f"started   {_hm(r.started_at)} UTC   ended {_hm(r.ended_at) if r.ended_at else '-'}   ({_secs(r)} s)")
    print(f"pbx       {r.pbx}   route {r.route or '-'}   playbook {r.playbook or '-'}")
    print(f"caller    {r.caller or '-'}   language {r.language or '-'}")
    print(f"outcome   {r.outcome or 'in progress'}")
    if r.transfer_reason or r.transfer_target:
        print(f"transfer  {r.transfer_target or '-'}: {r.transfer_reason or ''}")
    if r.transfer_result:
        print(f"          {bridge_line(r.transfer_result)}")
    if r.pos:
        print(f"pos       {r.pos.get('adapter')} order {r.pos.get('order_id') or '(queued)'}   key {r.pos.get('idempotency_key')}")
    if r.ticket:
        t = r.ticket
        print(f"ticket    {t.get('kind')}  total {t.get('total_minor', 0) / 100:.2f} {t.get('currency', '')}")
        for item in t.get("items", []):
            mods = ", ".join(m.get("name", "") for m in item.get("modifiers", []))
            print(f"          {item.get('quantity')} x {item.get('name')}" + (f" ({mods})" if mods else ""))
        f = t.get("fulfillment") or {}
        if f:
            print(f"          {f.get('type')} {f.get('time') or ''} {f.get('address') or ''}".rstrip())
        c = t.get("customer") or {}
        if c:
            print(f"          customer {c.get('name') or '-'} {c.get('phone') or ''}".rstrip())
    if r.audio_path:
        print(f"audio     {r.audio_path}")
    print()
    for turn in r.turns:
        if turn.get("heard"):
            latency = turn.get("latency_ms")
            print(f"  caller: {turn['heard']}")
            if turn.get("said"):
                print(f"     bot: {turn['said']}" + (f"   [{latency} ms]" if latency is not None else ""))
        elif turn.get("said"):
            print(f"     bot: {turn['said']}")


def bridge_line(bridge: dict) -> str:
    """'answered by user/1000', 'no_answer (NO_ANSWER); the voicemail took the call', 'failed (USER_NOT_REGISTERED)'."""
    if bridge.get("result") == "answered":
        line = f"answered by {bridge.get('answered_by') or '?'}"
    else:
        line = str(bridge.get("result")) + (f" ({bridge['cause']})" if bridge.get("cause") else "")
    return line + ("; the voicemail took the call" if bridge.get("voicemail") else "")


def _summary(r: CallRecord) -> dict:
    total = r.ticket.get("total_minor") if r.ticket else None
    return {"call_id": r.call_id, "server": r.server, "started_at": r.to_dict()["started_at"], "seconds": _secs(r), "pbx": r.pbx,
            "route": r.route, "caller": r.caller, "outcome": r.outcome, "total_minor": total,
            "transfer_reason": r.transfer_reason,
            "transfer_result": (r.transfer_result or {}).get("result")}


def _hm(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _secs(r: CallRecord) -> str:
    return "" if r.ended_at is None else f"{r.ended_at - r.started_at:.0f}"

