"""The outbox benchmark end to end, small: exactly once despite faults and SIGKILLs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_outbox_small_run_is_exactly_once(pg_dsn):
    out = subprocess.run(
        [sys.executable, "-m", "agi.cli", "bench", "outbox", "--json", "--tickets", "60", "--kills", "2",
         "--backends", "sqlite,postgres", "--dsn", pg_dsn, "--webhooks", "6", "--seed", "7"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    result = json.loads(out.stdout)
    for backend in ("sqlite", "postgres"):
        r = result["backends"][backend]
        assert (r["orders_created"], r["duplicates"], r["lost"], r["kills"]) == (60, 0, 0, 2), r
        assert sum(r["faults"].values()) > 0  # the POS really misbehaved
    assert result["propagation_ms_p95"] > 0 and out.returncode == 0
