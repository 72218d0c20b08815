"""`callticket chat --playbook P [--config F [--dry-run]]`: talk to the bot in text, see the ticket fill.

With `--config` the Playbook and its commit are the workers' (agi.commands.playbook_cli):
a vendor POS's live catalog, the config's outbox and adapter, so a new menu in the
POS can be tried before the first call. `--dry-run` prints the vendor's order
request instead of sending it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agi.commands.playbook_cli import add_config_arguments, format_dry_run, start_call
from agi.simulate import Script, ScriptCaller, TextCall


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("chat", help="interactive text conversation with a Playbook")
    p.add_argument("--playbook", required=True, type=Path)
    p.add_argument("--caller", default=None, help="caller ID to present, e.g. +15551234567")
    p.add_argument("--language", default=None, choices=["en", "es", "zh"])
    p.add_argument("--data-dir", type=Path, default=None,
                   help="local POS and outbox (default: the config's data_dir, else $CALLTICKET_DATA_DIR or ./var)")
    add_config_arguments(p, dry_run=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = start_call(args, "chat")
    if started is None:
        return 1
    session, committer, shown = started
    vendor = session.loaded.playbook.pos.adapter
    script = Script(caller=ScriptCaller(number=args.caller, language=args.language))
    call = TextCall(session.loaded, script, committer)
    print(f"bot: {call.turns[0]['bot']}")
    print("(type what the caller says; digits alone are keypad presses; Ctrl-D hangs up)")
    while not call.finished:
        try:
            line = input("you: ").strip()
        except EOFError:
            break
        if not line:
            continue
        bot = call.dtmf(line) if len(line) == 1 and line in "0123456789*#" else call.say(line)
        print(f"bot: {bot}")
        if shown:
            print(format_dry_run(shown, vendor))
            shown.clear()
        _show_ticket(call)
    call.hang_up()
    result = call.result()
    print(f"\noutcome: {result['outcome']}")
    if result["ticket"]:
        print(json.dumps(result["ticket"], indent=2, ensure_ascii=False))
    if result["transfer"]:
        print(f"transferred to {result['transfer']['target']}: {result['transfer']['reason']}")
    if result["pos"]:
        print("pos:", json.dumps(result["pos"], ensure_ascii=False))
    return 0


def _show_ticket(call: TextCall) -> None:
    engine = call.controller.engine
    if engine is None or call.finished:
        return
    ticket = engine.ticket()
    lines = [f"     {line.describe()}" for line in ticket.items]
    slots = {k: v for k, v in engine.state.slots.items() if not k.startswith("_")}
    print("   [ticket]" + (" " + ticket.summary().split(": ", 1)[-1] if lines else " empty")
          + (f"  slots={slots}" if slots else ""))
