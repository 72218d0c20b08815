"""`callticket validate PLAYBOOK... [--config FILE]`: one `file:line: field: message` per problem.

A Playbook with a local catalog file is checked against it. One bound to a
vendor POS has no catalog file: without `--config` its schema is checked;
with `--config` (the worker config) its catalog is fetched from the POS
exactly as the workers fetch it, and the Playbook is checked against it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agi.commands.playbook_cli import load_as_workers, load_config_file, print_problems
from agi.playbook import check_playbook
from agi.yamlconf import ConfigError, Problem


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check Playbooks (and their catalogs: local files, or with "
                                               "--config the vendor POS's)")
    p.add_argument("playbooks", nargs="+", metavar="PLAYBOOK", type=Path)
    p.add_argument("--config", type=Path, default=None,
                   help="the worker config: fetch each vendor POS's catalog as the workers do and check against it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config_file(args.config)
    except ConfigError as exc:
        return print_problems(exc, sys.stdout)
    problems: list[Problem] = []
    unchecked: list[str] = []
    for path in args.playbooks:
        try:
            if config is not None:
                load_as_workers(path, config, config.data_dir)
            elif check_playbook(path).pos.catalog is None:
                unchecked.append(str(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    for problem in problems:
        print(problem, file=sys.stdout)
    if not problems:
        print(f"ok: {len(args.playbooks)} playbook(s)", file=sys.stderr)
        for path in unchecked:
            print(f"{path}: schema only: its catalog is in its POS (--config FILE fetches it and checks against it)",
                  file=sys.stderr)
    return 1 if problems else 0
