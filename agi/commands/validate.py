"""`callticket validate PLAYBOOK...`: one `file:line: field: message` per problem."""

from __future__ import annotations

import argparse
import sys

from agi.playbook import validate_files


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check Playbooks (and their local catalogs)")
    p.add_argument("playbooks", nargs="+", metavar="PLAYBOOK")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    problems = validate_files(args.playbooks)
    for problem in problems:
        print(problem, file=sys.stdout)
    if not problems:
        print(f"ok: {len(args.playbooks)} playbook(s)", file=sys.stderr)
    return 1 if problems else 0
