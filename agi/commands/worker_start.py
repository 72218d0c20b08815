"""The start-up both PBX workers share: the config and its logging, then the Playbooks."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agi.yamlconf import ConfigError

if TYPE_CHECKING:
    from agi.catalog_service import CatalogService
    from agi.config import WorkerConfig
    from agi.registry import PlaybookRegistry


def load_worker_config(args: argparse.Namespace) -> WorkerConfig | None:
    """The worker config (`--config` or the default path); None after printing what is wrong with it."""
    from agi.config import config_path, load_config

    try:
        return load_config(config_path(args.config))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def load_config_and_logging(args: argparse.Namespace) -> WorkerConfig | None:
    """The worker config with logging set up; None after printing why not."""
    from agi import logs

    config = load_worker_config(args)
    if config is None:
        return None
    logging_conf = config.logging.model_copy(update={"level": args.log_level}) if args.log_level else config.logging
    logs.setup(logging_conf, secrets=config.secret_values())
    return config


def load_playbooks(catalogs: CatalogService, args: argparse.Namespace, prog: str) -> PlaybookRegistry | None:
    """Every Playbook, refusals printed; None when none can serve now or once its POS answers."""
    registry = catalogs.registry(args.playbooks)
    for problems in registry.errors.values():
        for problem in problems:
            print(problem, file=sys.stderr)
    if not registry.names and not registry.waiting:
        print(f"{prog}: no valid Playbook in {registry.directory}", file=sys.stderr)
        return None
    if registry.waiting:  # their POS did not answer: tried again on every watch pass and on SIGHUP
        print(f"{prog}: waiting for the POS catalog of {', '.join(registry.waiting)}", file=sys.stderr)
    return registry
