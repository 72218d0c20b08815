"""Wire a Playbook's POS binding to the outbox: the commit path of every call.

A confirmed ticket is first written to the durable outbox, then delivered to
the POS adapter; the caller hears the order number once the POS has it.
"""

from __future__ import annotations

import os
from pathlib import Path

from agi import events as ev
from agi.playbook import LoadedPlaybook
from agi.tickets import Ticket


def data_dir_from(arg: Path | None) -> Path:
    path = arg or Path(os.environ.get("CALLTICKET_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_catalog_path(loaded: LoadedPlaybook) -> Path:
    assert loaded.playbook.pos.catalog is not None
    return (loaded.path.parent / loaded.playbook.pos.catalog).resolve()


def local_committer(loaded: LoadedPlaybook, data_dir: Path):
    """Commit into the embedded local POS through the outbox, synchronously."""
    from adapters.local import LocalPos
    from agi.outbox import Outbox

    pos = LocalPos(data_dir, local_catalog_path(loaded))
    outbox = Outbox(data_dir / "outbox.sqlite3")

    def commit(ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed:
        try:
            outbox.enqueue(ticket, key, pos.name)
            outbox.deliver_pending(pos)
            receipt = outbox.receipt(key)
        except Exception as exc:  # the caller must hear something either way
            return ev.CommitFailed(f"{type(exc).__name__}: {exc}")
        if receipt is None:
            return ev.CommitDone(None, key, pos.name)
        return ev.CommitDone(receipt.order_id, key, receipt.adapter)

    return commit
