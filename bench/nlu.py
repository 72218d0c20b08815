"""`callticket bench nlu`: order-parsing accuracy and speed on public datasets.

    callticket bench nlu --dataset pizza-dev --data-dir ../shared/benchmarks --json

Parses every utterance with `agi.dialogue.parser.parse_order` (the parser the
calls use) against the venue's catalog, writes the result as the dataset's
EXR and scores unordered exact match. Prints one JSON object with --json:
{"dataset", "n", "exact_match", "per_venue", "parse_ms_p50", "parse_ms_p99", ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from agi.dialogue.parser import parse_order
from bench.datasets import DATASETS, Example, Venue, exact_match, load, to_exr

ROOT = Path(__file__).resolve().parents[1]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("nlu", help="order parser accuracy (exact match) and parse time")
    p.add_argument("--dataset", choices=DATASETS, required=True)
    p.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "benchmarks",
                   help="folder holding pizza/ and food-ordering/ (default: ../shared/benchmarks)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--limit", type=int, default=0, help="only the first N utterances of each venue")
    p.add_argument("--failures", type=int, default=0, metavar="N", help="also list N wrong parses (to stderr with --json)")
    p.set_defaults(func=run)


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return round(sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))], 3)


def evaluate(venues: dict[str, Venue], examples: list[Example], limit: int = 0) -> tuple[dict, list[dict]]:
    """Score the examples; returns the figures and the wrong parses."""
    per_venue_n: dict[str, int] = {}
    per_venue_ok: dict[str, int] = {}
    times: list[float] = []
    failures: list[dict] = []
    for venue in venues.values():  # build each matcher once, outside the timings
        parse_order("", venue.catalog)
        parse_order("hello", venue.catalog)
    for ex in examples:
        if limit and per_venue_n.get(ex.venue, 0) >= limit:
            continue
        venue = venues[ex.venue]
        t0 = time.perf_counter()
        result = parse_order(ex.text, venue.catalog, "en")
        times.append((time.perf_counter() - t0) * 1000)
        predicted = venue.render(result)
        ok = exact_match(predicted, ex.gold)
        per_venue_n[ex.venue] = per_venue_n.get(ex.venue, 0) + 1
        per_venue_ok[ex.venue] = per_venue_ok.get(ex.venue, 0) + int(ok)
        if not ok:
            failures.append({"venue": ex.venue, "text": ex.text, "gold": to_exr(ex.gold), "got": to_exr(predicted)})
    n = sum(per_venue_n.values())
    times.sort()
    figures = {
        "n": n,
        "exact_match": round(sum(per_venue_ok.values()) / n, 4) if n else 0.0,
        "per_venue": {v: round(per_venue_ok[v] / per_venue_n[v], 4) for v in per_venue_n},
        "per_venue_n": dict(per_venue_n),
        "parse_ms_p50": _percentile(times, 0.5),
        "parse_ms_p99": _percentile(times, 0.99),
        "parse_ms_max": round(times[-1], 3) if times else 0.0,
    }
    return figures, failures


def run(args: argparse.Namespace) -> int:
    try:
        venues, examples = load(args.dataset, args.data_dir)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"bench nlu: {exc}", file=sys.stderr)
        return 2
    figures, failures = evaluate(venues, examples, args.limit)
    out = {"dataset": args.dataset, **figures}
    shown = failures[: args.failures] if args.failures else []
    if args.json:
        print(json.dumps(out))
        for f in shown:
            print(json.dumps(f), file=sys.stderr)
        return 0
    print(f"dataset      {args.dataset}")
    print(f"utterances   {out['n']}")
    print(f"exact match  {out['exact_match']:.4f}")
    for venue, em in out["per_venue"].items():
        print(f"  {venue:<10} {em:.4f}  ({out['per_venue_n'][venue]} utterances)")
    print(f"parse time   p50 {out['parse_ms_p50']} ms, p99 {out['parse_ms_p99']} ms, max {out['parse_ms_max']} ms")
    for f in shown:
        print(f"\n[{f['venue']}] {f['text']}\n  gold: {f['gold']}\n  got:  {f['got']}")
    return 0
