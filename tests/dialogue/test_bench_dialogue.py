"""`callticket bench dialogue --json` counts wrong commits and dead ends against each call's expectation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "tests" / "dialogue" / "calls" / "pizzeria" / "happy_path.yaml"


def _write(path: Path, spec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    yaml = YAML()
    with path.open("w") as f:
        yaml.dump(spec, f)


def test_bench_dialogue_counts_wrong_commits_and_dead_ends(tmp_path: Path):
    spec = YAML(typ="safe").load(HAPPY.read_text())
    _write(tmp_path / "pizzeria" / "right.yaml", spec)
    wrong = YAML(typ="safe").load(HAPPY.read_text())
    wrong["expect"]["ticket"]["items"][0]["quantity"] = 3  # the caller asked for two; expecting three makes it wrong
    _write(tmp_path / "pizzeria" / "wrong.yaml", wrong)
    cut = YAML(typ="safe").load(HAPPY.read_text())
    cut["script"]["say"] = cut["script"]["say"][:2]  # the caller hangs up before the read-back
    _write(tmp_path / "pizzeria" / "cut.yaml", cut)
    out = subprocess.run(
        [sys.executable, "-m", "agi.cli", "bench", "dialogue", "--calls", str(tmp_path), "--repeat", "2", "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    figures = json.loads(out.stdout)
    assert (figures["calls"], figures["wrong_commits"], figures["dead_ends"]) == (3, 1, 1)
    row = figures["per_playbook"]["pizzeria"]
    assert sorted(row["failed"]) == ["cut (dead_end)", "wrong (wrong_commit)"]
    assert figures["turn_ms_p50"] > 0
