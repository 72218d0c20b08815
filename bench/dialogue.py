"""`callticket bench dialogue`: what the dialogue engine commits, and how fast.

Replays every scripted call under tests/dialogue/calls through the call core in
text mode. Each call's `expect` is the ticket the caller asked for, written from
their words; the figures are:

- `wrong_commits`: calls that committed a ticket other than the expected one
  (or committed when no commit was expected): the outcome that must be zero;
- `dead_ends`: calls that should have committed and did not (the bot handed
  the call over or the caller gave up while it kept asking);
- `other_mismatches`: any other difference from `expect` (a transfer for
  another reason, a refusal that should have been a transfer);
- all three per Playbook, and the engine's time per caller turn (the POS
  commit is excluded: it is the outbox's figure).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from agi import events as ev
from agi.playbook import load_playbook
from agi.simulate import Script, TextCall

ROOT = Path(__file__).resolve().parents[1]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("dialogue", help="wrong commits, dead ends and turn time over all scripted calls")
    p.add_argument("--calls", type=Path, default=ROOT / "tests" / "dialogue" / "calls")
    p.add_argument("--repeat", type=int, default=3, help="replays of the whole set for timing (the first warms caches)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _no_pos(ticket, key):
    return ev.CommitDone("bench", key, "none")


def verdict(expect: dict[str, Any], got: dict[str, Any]) -> str:
    """'ok', 'wrong_commit', 'dead_end' or 'other' for one call."""
    if got == expect:
        return "ok"
    if got["outcome"] == "committed":
        return "wrong_commit"
    if expect["outcome"] == "committed":
        return "dead_end"
    return "other"


def measure(calls_dir: Path, repeat: int = 3) -> dict:
    yaml = YAML(typ="safe")
    files = sorted(calls_dir.glob("*/*.yaml"))
    loaded = {}
    times: list[float] = []
    turns = 0
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"calls": 0, "wrong_commits": 0, "dead_ends": 0,
                                                         "other_mismatches": 0, "failed": []})
    for rep in range(repeat):
        for path in files:
            pb = path.parent.name
            if pb not in loaded:
                loaded[pb] = load_playbook(ROOT / "playbooks" / f"{pb}.yaml")
            spec = yaml.load(path.read_text())
            script = Script.model_validate(spec["script"])
            call = TextCall(loaded[pb], script, _no_pos)
            for text in script.say:
                if call.finished:
                    break
                t0 = time.perf_counter()
                call.say(text)
                if rep > 0:
                    times.append((time.perf_counter() - t0) * 1000)
                    turns += 1
            call.hang_up()
            if rep == 0:
                result = call.result()
                got = {k: result[k] for k in ("outcome", "ticket", "transfer")}
                kind = verdict(_plain(spec["expect"]), got)
                row = per[pb]
                row["calls"] += 1
                if kind != "ok":
                    row[{"wrong_commit": "wrong_commits", "dead_end": "dead_ends"}.get(kind, "other_mismatches")] += 1
                    row["failed"].append(f"{path.stem} ({kind})")
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 3) if times else None  # noqa: E731
    total = {k: sum(row[k] for row in per.values()) for k in ("calls", "wrong_commits", "dead_ends", "other_mismatches")}
    return {
        "calls": total["calls"],
        "wrong_commits": total["wrong_commits"],
        "dead_ends": total["dead_ends"],
        "dead_end_rate": round(total["dead_ends"] / total["calls"], 4) if total["calls"] else None,
        "other_mismatches": total["other_mismatches"],
        "per_playbook": {pb: per[pb] for pb in sorted(per)},
        "turns": turns,
        "turn_ms_p50": pick(0.50),
        "turn_ms_p99": pick(0.99),
        "turn_ms_max": round(times[-1], 3) if times else None,
        "turn_ms_mean": round(statistics.fmean(times), 3) if times else None,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    figures = measure(args.calls, max(2, args.repeat))
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>16}: {v}")
    return 0
