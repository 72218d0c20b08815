"""Wire a Playbook's POS binding to the outbox: the commit path of every call.

A confirmed ticket is first written to the durable outbox, then delivered to
the POS adapter; the caller hears the order number once the POS has it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agi import events as ev
from agi.playbook import LoadedPlaybook
from agi.tickets import Ticket

if TYPE_CHECKING:
    from adapters.dry_run import WouldSend

Committer = Callable[[Ticket, str], "ev.CommitDone | ev.CommitFailed"]


def data_dir_from(arg: Path | None) -> Path:
    path = arg or Path(os.environ.get("CALLTICKET_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_catalog_path(loaded: LoadedPlaybook) -> Path:
    assert loaded.playbook.pos.catalog is not None
    return (loaded.path.parent / loaded.playbook.pos.catalog).resolve()


# Several calls of one worker share one outbox connection pool per DSN.
_OUTBOXES: dict[str, Any] = {}
_OUTBOX_LOCK = threading.Lock()

# How long a call waits for the POS to answer before telling the caller the
# order is in (it is durable in the outbox either way).
COMMIT_WAIT_S = 3.0


def _outbox(dsn: str, password: str | None = None):
    from agi.outbox import Outbox

    with _OUTBOX_LOCK:
        if dsn not in _OUTBOXES:
            _OUTBOXES[dsn] = Outbox(dsn, password=password)
        return _OUTBOXES[dsn]


def committer_for(loaded: LoadedPlaybook, data_dir: Path, config: Any = None) -> Committer:
    """The commit path of a live call for any POS the Playbook names.

    The adapter gets its credentials and base URL from the worker config
    (agi.pos_adapter). The ticket is written to the outbox (the config's DSN,
    else SQLite in `data_dir`) and delivered at once; a POS that is down
    leaves it queued for the outbox sender, a POS that refuses it for good
    fails the commit so the caller is handed to staff.
    """
    from adapters.registry import outbox_name
    from agi import outbox as ob
    from agi.pos_adapter import adapter_for

    dsn = str(data_dir / "outbox.sqlite3")
    password = None
    if config is not None and config.outbox.dsn:
        dsn = config.outbox.dsn
        password = config.outbox.password.value() if config.outbox.password else None
    adapter = adapter_for(loaded.path, loaded.playbook, data_dir, config)
    outbox = _outbox(dsn, password)
    name = outbox_name(adapter)

    def commit(ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed:
        return ob.commit(outbox, adapter, ticket, key, name=name, wait_s=COMMIT_WAIT_S)

    return commit


def local_committer(loaded: LoadedPlaybook, data_dir: Path) -> Committer:
    """Commit into the embedded local POS through the outbox, synchronously."""
    return committer_for(loaded, data_dir)


def dry_run_committer(loaded: LoadedPlaybook, data_dir: Path, config: Any,
                      show: Callable[[list[WouldSend]], None]) -> Committer:
    """A commit that builds the vendor's order request as a live call would and hands it to `show` unsent.

    The adapter is the one `committer_for` builds (the same credentials, base
    URL and settings); reads reach the vendor, no write does, and nothing goes
    to the outbox (adapters.dry_run). The call hears its order is in, without
    an order number.
    """
    from adapters.base import PosError
    from adapters.dry_run import DryRun, OrderNotSent
    from agi.pos_adapter import adapter_spec

    spec = adapter_spec(loaded.path, loaded.playbook, config)
    if spec.vendor == "local":
        raise ValueError(f"{loaded.path}: a dry run shows a vendor POS's order request; "
                         "this Playbook commits to the embedded local POS")
    transport = DryRun(spec.vendor)
    adapter = spec.build(data_dir, transport=transport)

    def commit(ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed:
        transport.requests.clear()
        try:
            adapter.submit(ticket, key)
        except OrderNotSent:
            show(list(transport.requests))
            return ev.CommitDone(None, key, adapter.name)
        except PosError as exc:  # what a live commit would meet too: the caller goes to staff
            return ev.CommitFailed(f"dry run: {exc}")
        return ev.CommitFailed(f"dry run: {spec.vendor} answered without an order request")

    return commit
