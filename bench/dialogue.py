"""`callticket bench dialogue`: engine turn time (text in -> commands out).

Replays every scripted call under tests/dialogue/calls through the call core
in text mode and times each caller turn; the POS commit is excluded (it is the
outbox's figure), so this is the dialogue engine alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from ruamel.yaml import YAML

from agi import events as ev
from agi.playbook import load_playbook
from agi.simulate import Script, TextCall

ROOT = Path(__file__).resolve().parents[1]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("dialogue", help="dialogue engine turn time over all scripted calls")
    p.add_argument("--calls", type=Path, default=ROOT / "tests" / "dialogue" / "calls")
    p.add_argument("--repeat", type=int, default=3, help="replays of the whole set (first one warms caches)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _no_pos(ticket, key):
    return ev.CommitDone("bench", key, "none")


def measure(calls_dir: Path, repeat: int = 3) -> dict:
    yaml = YAML(typ="safe")
    files = sorted(calls_dir.glob("*/*.yaml"))
    loaded = {}
    times: list[float] = []
    turns = 0
    for rep in range(repeat):
        for path in files:
            pb = path.parent.name
            if pb not in loaded:
                loaded[pb] = load_playbook(ROOT / "playbooks" / f"{pb}.yaml")
            script = Script.model_validate(yaml.load(path.read_text())["script"])
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
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 3) if times else None  # noqa: E731
    return {
        "calls": len(files),
        "turns": turns,
        "turn_ms_p50": pick(0.50),
        "turn_ms_p99": pick(0.99),
        "turn_ms_max": round(times[-1], 3) if times else None,
        "turn_ms_mean": round(statistics.fmean(times), 3) if times else None,
    }


def run(args: argparse.Namespace) -> int:
    figures = measure(args.calls, max(2, args.repeat))
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>14}: {v}")
    return 0
