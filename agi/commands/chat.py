"""`callticket chat --playbook P`: talk to the bot in text, see the ticket fill."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agi.playbook import load_playbook
from agi.pos_binding import data_dir_from, local_committer
from agi.simulate import Script, ScriptCaller, TextCall
from agi.yamlconf import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("chat", help="interactive text conversation with a Playbook")
    p.add_argument("--playbook", required=True, type=Path)
    p.add_argument("--caller", default=None, help="caller ID to present, e.g. +15551234567")
    p.add_argument("--language", default=None, choices=["en", "es", "zh"])
    p.add_argument("--data-dir", type=Path, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        loaded = load_playbook(args.playbook)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    script = Script(caller=ScriptCaller(number=args.caller, language=args.language))
    call = TextCall(loaded, script, local_committer(loaded, data_dir_from(args.data_dir)))
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
        _show_ticket(call)
    call.hang_up()
    result = call.result()
    print(f"\noutcome: {result['outcome']}")
    if result["ticket"]:
        print(json.dumps(result["ticket"], indent=2, ensure_ascii=False))
    if result["transfer"]:
        print(f"transferred to {result['transfer']['target']}: {result['transfer']['reason']}")
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
