"""`callticket bench freeswitch`: spoken orders through `callticket serve-esl`, N at a time.

FreeSWITCH itself does not run here, so its side of each call is the test
kit's wire-level replay (tests/freeswitch/fake_fs.py: the outbound Event
Socket blocks and unicast L16 media of the captured sessions). The worker
is `callticket serve-esl` as its own process, exactly as deployed, with the
real recogniser, dialogue and local POS. Each caller speaks the pizza order
in a rotating espeak-ng / flite voice through an A-law line, each turn after
the bot's reply; N callers start a second apart. Figures per N:

- calls_committed: calls that ended with the order in the local POS
- reply_latency_ms p50 / p95: the worker's own measurement, end of the
  caller's speech -> first reply frame sent (its "call result" log line)
- second_opinions: utterances the multilingual model heard again, and of
  them second_opinions_early, asked for at the caller's first pause
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.speech import _pct

ROOT = Path(__file__).resolve().parents[1]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("freeswitch", help="spoken orders through serve-esl (FreeSWITCH's side replayed)")
    p.add_argument("--calls", default="1,5", help="calls at once, comma-separated (default 1,5)")
    p.add_argument("--rounds", type=int, default=3, help="times each level runs (default 3)")
    p.add_argument("--workdir", type=Path, default=None, help="keep the worker's log here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _kit():
    kit = str(ROOT / "tests" / "freeswitch")
    if kit not in sys.path:
        sys.path.insert(0, kit)
    import fake_fs
    import fs_harness

    return fake_fs, fs_harness


def level(worker: Any, n: int, rounds: int, offset: int) -> dict[str, Any]:
    """`rounds` times, n calls at once; the worker's figures for them."""
    fake_fs, fs_harness = _kit()
    calls = []
    for r in range(rounds):
        voices = [fs_harness.caller_audio(fs_harness.PIZZA_ORDER, offset + r * n + i) for i in range(n)]
        batch = [fake_fs.FakeFreeSwitch(worker.address, variables={"callticket_playbook": "pizzeria"},
                                        script=fake_fs.CallerScript(turns=turns))
                 for turns in voices]
        threads = []
        for i, fs in enumerate(batch):
            threads.append(threading.Thread(target=fs.run, kwargs={"timeout": 300}, daemon=True))
            threads[-1].start()
            time.sleep(1.0 if i < n - 1 else 0)
        for thread in threads:
            thread.join()
        calls += batch
    worker.wait_for("call ended", offset + len(calls), timeout=60)
    results = {r.get("call_id"): r for r in worker.records("call result")}
    latencies = [ms for fs in calls for ms in results.get(fs.uuid, {}).get("reply_latency_ms", [])]
    committed = sum(results.get(fs.uuid, {}).get("outcome") == "committed" for fs in calls)
    seconds = sum(results.get(fs.uuid, {}).get("second_opinions", 0) for fs in calls)
    early = sum(results.get(fs.uuid, {}).get("second_opinions_early", 0) for fs in calls)
    return {
        "n": n,
        "calls": len(calls),
        "calls_committed": round(committed / len(calls), 3),
        "turns": len(latencies),
        "reply_latency_ms_p50": _pct(latencies, 0.50),
        "reply_latency_ms_p95": _pct(latencies, 0.95),
        "second_opinions": seconds,  # utterances heard again by the multilingual model
        "second_opinions_early": early,  # of them, asked for at the caller's pause
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    _, fs_harness = _kit()
    levels = [int(x) for x in args.calls.split(",") if x.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="callticket-bench-fs-"))
    playbooks = workdir / "playbooks"
    playbooks.mkdir(parents=True, exist_ok=True)
    fs_harness.freeswitch_playbook(playbooks, "pizzeria")
    worker = fs_harness.ServeEsl(workdir / "worker", playbooks).start()
    figures: dict[str, Any] = {"levels": []}
    try:
        done = 0
        for n in levels:
            figures["levels"].append(level(worker, n, args.rounds, done))
            done += n * args.rounds
    finally:
        worker.stop()
    return figures


def run(args: argparse.Namespace) -> int:
    figures = measure(args)
    if args.json:
        print(json.dumps(figures))
    else:
        for fig in figures["levels"]:
            print(fig)
    return 0
