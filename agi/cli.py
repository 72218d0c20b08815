"""`callticket` command line: discovers the sub-commands in `agi.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from typing import Sequence

import agi.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callticket", description="Phone calls in, POS tickets out.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(agi.commands.__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"agi.commands.{info.name}")
        except ImportError as exc:
            # One command whose optional dependency is missing must not take
            # every other command down with it.
            _register_broken(subparsers, info.name.replace("_", "-"), exc)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def _register_broken(subparsers: argparse._SubParsersAction, name: str, exc: ImportError) -> None:
    p = subparsers.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def fail(_args: argparse.Namespace) -> int:
        print(f"callticket {name}: unavailable: {exc}", file=sys.stderr)
        return 2

    p.set_defaults(func=fail)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    from agi.logs import scrubbed_output

    with scrubbed_output():  # what a command prints passes the secret scrubber, tracebacks too
        try:
            return int(func(args) or 0)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            return 0
        except Exception:
            traceback.print_exc()
            return 1


if __name__ == "__main__":
    sys.exit(main())
