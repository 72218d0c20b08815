"""`callticket simulate --playbook P --script S [--audio] [--config F [--dry-run]] --json`: one scripted call.

With `--config` the Playbook and its commit are the workers' (agi.commands.playbook_cli):
a vendor POS's live catalog, the config's outbox and adapter. `--dry-run` prints the
vendor's order request instead of sending it (on stderr under `--json`, whose one JSON
object keeps its shape: `pos.order_id` is null).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agi.commands.playbook_cli import add_config_arguments, format_dry_run, print_problems, start_call
from agi.simulate import load_script, run_script
from agi.yamlconf import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("simulate", help="run one scripted call and print its result")
    p.add_argument("--playbook", required=True, type=Path)
    p.add_argument("--script", required=True, type=Path)
    p.add_argument("--audio", action="store_true", help="speak each caller turn through TTS, VAD and STT")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="local POS and outbox (default: the config's data_dir, else $CALLTICKET_DATA_DIR or ./var)")
    add_config_arguments(p, dry_run=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        script = load_script(args.script)
    except ConfigError as exc:
        return print_problems(exc)
    started = start_call(args, "simulate")
    if started is None:
        return 1
    session, committer, shown = started
    if args.audio:
        from agi.simulate_audio import run_audio

        result = run_audio(session.loaded, script, committer)
    else:
        result = run_script(session.loaded, script, committer)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_transcript(result)
    if shown:
        print(format_dry_run(shown, session.loaded.playbook.pos.adapter), file=sys.stderr if args.json else sys.stdout)
    return 0


def print_transcript(result: dict) -> None:
    for turn in result["turns"]:
        if turn["caller"]:
            heard = "" if turn["heard"] == turn["caller"] else f"   (heard: {turn['heard']})"
            print(f"caller: {turn['caller']}{heard}")
        if turn["bot"]:
            latency = f"   [{turn['latency_ms']} ms]" if turn["caller"] else ""
            print(f"   bot: {turn['bot']}{latency}")
    print(f"\noutcome: {result['outcome']}")
    if result["transfer"]:
        print(f"transfer: {result['transfer']['reason']} -> {result['transfer']['target']}")
    if result["ticket"]:
        print("ticket:", json.dumps(result["ticket"], indent=2, ensure_ascii=False))
    if result["pos"]:
        print("pos:", json.dumps(result["pos"], ensure_ascii=False))
