"""The catalogs of a worker process: one catalog store, its refresh thread, the webhook endpoint.

    catalogs = CatalogService(config, data_dir)
    registry = catalogs.registry(directory)     # loads every Playbook now (vendor ones from their POS)
    catalogs.start()                            # refresh thread; `POST /webhooks/<location>` when enabled
    ...
    catalogs.stop()                             # after the calls drained (SIGTERM)

`serve-agi` and `serve-esl` both run this. Each Playbook with a vendor POS
and no local catalog file has its catalog in the store under its file stem
(agi.vendor_catalogs), refreshed every `pos.refresh_s`; with
`webhooks.enabled` the vendor's webhooks reach it at
`http://<webhooks.listen>/webhooks/<file stem>` (what `webhooks.public_url`
proxies to), signed with `webhooks.signing_keys.<vendor>`; the ids of the
events handled are kept in the outbox database (agi.webhook_ledger).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agi import metrics as _metrics
from agi.catalog_sync import CatalogStore
from agi.registry import PlaybookRegistry
from agi.vendor_catalogs import VendorCatalogs
from agi.webhook_ledger import WebhookLedger
from agi.webhooks import MAX_FUTURE_S, WebhookServer, webhook_app

if TYPE_CHECKING:
    from agi.config import WorkerConfig


class CatalogService:
    def __init__(self, config: WorkerConfig, data_dir: Path, metrics: _metrics.Metrics | None = None):
        self.config = config
        self.metrics = metrics or _metrics.METRICS
        self.store = CatalogStore(metrics=self.metrics)
        self.data_dir = Path(data_dir)
        self.vendors = VendorCatalogs(self.store, self.data_dir, config)
        self.webhooks: WebhookServer | None = None

    def registry(self, directory: Path | None = None) -> PlaybookRegistry:
        """The worker's Playbooks (config `playbooks:`; `directory` overrides its `dir`), loaded now."""
        pb = self.config.playbooks
        return PlaybookRegistry(directory or pb.dir, pb.routes, pb.default, pb.poll_s, metrics=self.metrics,
                                loader=self.vendors.load, on_removed=self.vendors.forget)

    def start(self) -> None:
        """The refresh thread, and the webhook endpoint when enabled (OSError: its port is taken)."""
        self.store.start()
        hooks = self.config.webhooks
        if hooks.enabled and self.webhooks is None:
            app = webhook_app(self.store, ledger=self.ledger(), max_age_s=hooks.max_event_age_s, metrics=self.metrics)
            self.webhooks = WebhookServer(app, hooks.listen.host, hooks.listen.port).start()

    def ledger(self) -> WebhookLedger:
        """Handled webhook ids, in the outbox database (the config's DSN, else SQLite in the data directory)."""
        outbox = self.config.outbox
        dsn = outbox.dsn or f"sqlite:{self.data_dir / 'outbox.sqlite3'}"
        password = outbox.password.value() if outbox.password else None
        return WebhookLedger(dsn, password, retention_s=2 * (self.config.webhooks.max_event_age_s + MAX_FUTURE_S))

    def start_for(self, prog: str) -> bool:
        """`start()` for a worker command: says where the webhooks listen, or why it cannot start."""
        try:
            self.start()
        except (OSError, RuntimeError) as exc:
            print(f"{prog}: webhooks on {self.config.webhooks.listen}: {exc}", file=sys.stderr)
            self.stop()
            return False
        if self.webhook_url:
            print(f"{prog}: POS webhooks on {self.webhook_url}", file=sys.stderr, flush=True)
        return True

    @property
    def webhook_url(self) -> str | None:
        """Where the endpoint listens, e.g. http://127.0.0.1:8085/webhooks/<location>."""
        return f"{self.webhooks.url}/webhooks/<location>" if self.webhooks is not None else None

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        self.store.stop()
