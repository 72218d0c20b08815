"""`callticket bench asterisk`: whole spoken orders through a real Asterisk, N at a time.

Builds (or reuses) the Debian sid chroot with Asterisk (tests/pbx), starts
Asterisk on 127.0.0.1 with the dialplan/ configs and `callticket serve-agi`
as its own process, then for each N places N sipp callers at once (their
starts spread over a few seconds, as real callers are), each speaking the
pizza order in espeak-ng µ-law RTP. Figures per N:

- calls_completed: sipp finished cleanly and Asterisk hung up (the bot's goodbye)
- orders_correct: orders in the local POS, from these callers, with exactly the lines asked for
- reply_latency_ms p50/p95: end of the caller's speech -> first audible reply
  packet, measured on the wire (RTP on loopback); `worker_reply_latency_ms`
  is the worker's own measurement (end of speech -> first reply frame sent)
- worker_cpu_cores (average over the run), worker_cpu_s, worker_rss_mb_peak

Needs root (chroot), sipp, espeak-ng. Prints one JSON object with --json.
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

ROOT = Path(__file__).resolve().parents[1]


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("asterisk", help="concurrent spoken orders through a real Asterisk")
    p.add_argument("--calls", default="5,10,20", help="concurrency levels, comma-separated (default 5,10,20)")
    p.add_argument("--spread-s", type=float, default=0.5, help="seconds between two callers' starts")
    p.add_argument("--margin-s", type=float, default=4.0, help="caller's wait after each bot reply ends")
    p.add_argument("--workdir", type=Path, default=None, help="keep logs and captures here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _harness():
    sys.path.insert(0, str(ROOT / "tests" / "pbx"))
    import pbx_harness

    return pbx_harness


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class RssPeak:
    """Samples a process's RSS every 0.5 s."""

    def __init__(self, h: Any, pid: int):
        self.h, self.pid, self.peak = h, pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.h.proc_rss_mb(self.pid))
            self._stop.wait(0.5)


def run_level(h: Any, asterisk: Any, worker: Any, n: int, workdir: Path, spread_s: float,
              margin_s: float) -> dict[str, Any]:
    numbers = [f"+1555{n:02d}{i:05d}" for i in range(n)]
    calls = []
    for number in numbers:
        call, said = h.place_call(asterisk, workdir / number.lstrip("+"), h.PIZZERIA, h.ORDER, number=number,
                                  margin_s=margin_s)
        calls.append((number, call, said))
    known = {o["order_id"] for o in _orders(h, worker)}
    logs_before = len(worker.log_lines())
    tap = h.RtpTap({c.media_port for _, c, _ in calls}).start()
    cpu0, t0 = h.proc_cpu_seconds(worker.pid), time.monotonic()
    with RssPeak(h, worker.pid) as rss:
        for _, call, _ in calls:
            call.start()
            time.sleep(spread_s)
        codes = [call.wait(600) for _, call, _ in calls]
    wall = time.monotonic() - t0
    cpu = h.proc_cpu_seconds(worker.pid) - cpu0
    tap.stop()
    orders = {o["customer"]["phone"]: o for o in _orders(h, worker) if o["order_id"] not in known}
    latencies: list[float] = []
    details = {}
    for number, call, said in calls:
        mine = h.reply_latencies(tap.to_caller[call.media_port], tap.from_caller[call.media_port], said)
        details[number] = [round(x * 1000) for x in mine]
        latencies += mine
    (workdir / "latencies.json").write_text(json.dumps(details, indent=1))
    worker_ms = [ms for r in worker.log_lines()[logs_before:] if r.get("msg") == "call result"
                 for ms in r.get("reply_latency_ms", [])]
    outcomes: dict[str, int] = {}
    for r in worker.log_lines()[logs_before:]:
        if r.get("msg") == "call result":
            outcomes[str(r.get("outcome"))] = outcomes.get(str(r.get("outcome")), 0) + 1
    completed = sum(1 for code, (_, call, _) in zip(codes, calls) if code == 0 and h.received_bye(call))
    correct = sum(1 for number in numbers if number in orders and not h.order_problems(orders[number], number))
    ms = [x * 1000 for x in latencies]
    return {
        "calls": n,
        "calls_completed": completed,
        "orders_correct": correct,
        "outcomes": outcomes,
        "reply_latency_ms": {"p50": _r(percentile(ms, 0.5)), "p95": _r(percentile(ms, 0.95)), "n": len(ms)},
        "worker_reply_latency_ms": {"p50": _r(percentile(worker_ms, 0.5)), "p95": _r(percentile(worker_ms, 0.95)),
                                    "n": len(worker_ms)},
        "wall_s": round(wall, 1),
        "worker_cpu_s": round(cpu, 1),
        "worker_cpu_cores": round(cpu / wall, 2),
        "worker_rss_mb_peak": round(rss.peak, 1),
    }


def _r(value: float | None) -> int | None:
    return None if value is None else round(value)


def _orders(h: Any, worker: Any) -> list[dict]:
    if not (worker.data_dir / "local_pos.sqlite3").exists():
        return []
    return h.local_pos_orders(worker.data_dir, h.PIZZERIA)


def measure(levels: list[int], workdir: Path, spread_s: float = 0.5, margin_s: float = 4.0) -> dict[str, Any]:
    h = _harness()
    asterisk = h.Asterisk(f"bench-{h.free_port()}", workdir)
    t_build = time.monotonic()
    asterisk.start()
    started_s = time.monotonic() - t_build
    worker = h.ServeAgi(asterisk, workdir / "serve-agi", "--max-calls", str(max(levels) + 5))
    try:
        worker.start()
        _wait_speech_ready(worker)
        rss_idle = h.proc_rss_mb(worker.pid)
        runs = [run_level(h, asterisk, worker, n, workdir / f"n{n}", spread_s, margin_s) for n in levels]
        version = asterisk.cli("core show version").split()[1] if asterisk.pid else None
    finally:
        worker.stop()
        asterisk.stop()
    return {
        "benchmark": "asterisk",
        "asterisk": version,
        "asterisk_start_s": round(started_s, 1),
        "worker_rss_mb_idle": round(rss_idle, 1),
        "caller_spread_s": spread_s,
        "caller_margin_s": margin_s,
        "runs": runs,
    }


def _wait_speech_ready(worker: Any, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(r.get("msg") == "speech ready" for r in worker.log_lines()):
            return
        time.sleep(0.5)
    raise RuntimeError("the worker's speech models did not load")


def run(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.calls.split(",") if x.strip()]
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = measure(levels, args.workdir, args.spread_s, args.margin_s)
    else:
        with tempfile.TemporaryDirectory(prefix="callticket-bench-asterisk-") as tmp:
            result = measure(levels, Path(tmp), args.spread_s, args.margin_s)
    if args.json:
        print(json.dumps(result))
    else:
        for r in result["runs"]:
            lat = r["reply_latency_ms"]
            print(f"N={r['calls']:>3}: {r['calls_completed']}/{r['calls']} completed, "
                  f"{r['orders_correct']} orders correct, "
                  f"reply p50 {lat['p50']} ms p95 {lat['p95']} ms, worker {r['worker_cpu_cores']} cores, "
                  f"RSS peak {r['worker_rss_mb_peak']} MB")
    return 0 if all(r["orders_correct"] == r["calls"] for r in result["runs"]) else 1



