"""How `validate`, `simulate` and `chat` load a Playbook and commit its tickets: as the workers do.

    add_config_arguments(parser, dry_run=True)       # --config FILE [--dry-run]
    started = start_call(args, "simulate")           # None: what is wrong was printed
    session, committer, shown = started              # shown: the dry run's unsent requests

With `--config FILE` (the worker config) a Playbook is loaded by the workers'
own loader (agi.vendor_catalogs): a vendor POS's catalog is fetched with the
credentials and base URL the config gives, and the Playbook is checked
against it. Tickets take the workers' commit path (agi.pos_binding: the
config's outbox, the same adapter), or with `--dry-run` the vendor's order
request is shown and not sent. Without `--config`, a Playbook with a local
catalog file runs on the embedded POS as before, and one whose catalog is in
a vendor POS is refused with the way to run it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agi.playbook import LoadedPlaybook, Playbook, load_playbook
from agi.pos_binding import Committer, committer_for, data_dir_from, dry_run_committer
from agi.yamlconf import ConfigError, Problem, load_model

if TYPE_CHECKING:
    from adapters.dry_run import WouldSend
    from agi.config import WorkerConfig


def add_config_arguments(p: argparse.ArgumentParser, dry_run: bool) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="the worker config: fetch a vendor POS's catalog and commit as the workers do "
                        "(its credentials, base URL, outbox and data directory)")
    if dry_run:
        p.add_argument("--dry-run", action="store_true",
                       help="print the POS order request instead of sending it (a vendor POS)")


def load_config_file(path: Path | None) -> WorkerConfig | None:
    """The worker config named by `--config` (never an implicit one: these commands must not
    commit to a production outbox unless asked to); raises ConfigError."""
    if path is None:
        return None
    from agi.config import load_config

    return load_config(path)


def load_as_workers(path: Path, config: WorkerConfig | None, data_dir: Path) -> LoadedPlaybook:
    """The Playbook as serve-agi and serve-esl load it; raises ConfigError (CatalogUnavailable: POS down)."""
    if config is not None:
        from agi.catalog_sync import CatalogStore
        from agi.vendor_catalogs import VendorCatalogs

        return VendorCatalogs(CatalogStore(), data_dir, config).load(path)
    playbook = load_model(path, Playbook)
    if playbook.pos.catalog is None:  # a vendor POS holds the catalog
        raise ConfigError([Problem(str(path), 0, "pos", f"the catalog is in {playbook.pos.adapter}: give "
                                   "--config FILE, the worker config with its credentials, to fetch it")])
    return load_playbook(path)


@dataclass
class Session:
    loaded: LoadedPlaybook
    config: WorkerConfig | None
    data_dir: Path

    def committer(self, dry_run: bool, show: Callable[[list[WouldSend]], None]) -> Committer:
        """The workers' commit path, or a dry run (ValueError: the Playbook's POS is the local one)."""
        if dry_run:
            return dry_run_committer(self.loaded, self.data_dir, self.config, show)
        return committer_for(self.loaded, self.data_dir, self.config)


def open_session(args: argparse.Namespace) -> Session:
    """`--playbook` loaded as the workers load it, with `--config` and the data directory
    (`--data-dir`, else the config's, else $CALLTICKET_DATA_DIR or ./var); raises ConfigError."""
    config = load_config_file(args.config)
    data_dir = data_dir_from(args.data_dir or (config.data_dir if config is not None else None))
    return Session(load_as_workers(args.playbook, config, data_dir), config, data_dir)


def print_problems(exc: ConfigError, file: TextIO = sys.stderr) -> int:
    """One `file:line: field: message` line per problem; the exit code 1."""
    for problem in exc.problems:
        print(problem, file=file)
    return 1


def start_call(args: argparse.Namespace, prog: str) -> tuple[Session, Committer, list[WouldSend]] | None:
    """The session and commit path of a `simulate` or `chat` call; None after printing why not.

    The third item fills with the requests a dry run did not send, for the command to print.
    """
    try:
        session = open_session(args)
    except ConfigError as exc:
        print_problems(exc)
        return None
    shown: list[WouldSend] = []
    try:
        committer = session.committer(args.dry_run, shown.extend)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
    return session, committer, shown


def format_dry_run(requests: list[WouldSend], vendor: str) -> str:
    """Each write the order would have made, then its body exactly as it would have been sent."""
    from adapters.dry_run import STAND_IN_ID

    out = []
    for r in requests:
        why = (f"; the order names the record it would create as {STAND_IN_ID} (0 for a numeric id)"
               if r.stand_in else "")
        out.append(f"dry run, not sent to {vendor}: {r.method} {r.url}{why}")
        out.append(r.body)
    return "\n".join(out)
