"""Playbooks whose catalog lives in a vendor POS: checked against it, served from the catalog store.

    store = CatalogStore(metrics=metrics.METRICS)
    catalogs = VendorCatalogs(store, data_dir, config)
    registry = PlaybookRegistry(directory, loader=catalogs.load, on_removed=catalogs.forget)

`load(path)` is the registry's loader. A Playbook with a local catalog file
(`pos.catalog`) loads exactly as `agi.playbook.load_playbook` loads it. One
with a vendor adapter (square, clover, toast, loyverse, eposnow, revel) and no
catalog file:

1. its adapter is built from the Playbook and the worker config
   (agi.pos_adapter: credentials, base URL, webhook signing key);
2. the adapter fetches the catalog, and the Playbook's references (upsell
   offers, categories, staff services, currency) are checked against it;
3. adapter and catalog go into the store (`CatalogStore.install`) under the
   Playbook's location key, its file stem: the same key as its webhook URL,
   `POST /webhooks/<file stem>`. The store refreshes it every `pos.refresh_s`
   (default 60 s) and applies webhooks to it, and the loaded Playbook reads
   the store on every call turn (`LoadedPlaybook.current_catalog()`).

A POS that cannot be reached refuses the Playbook with
`file:0: pos: cannot fetch catalog from <vendor>: <reason>` as a
`CatalogUnavailable`, which the registry tries again on every watch pass (and
on SIGHUP) until the vendor answers; the previous version, if any, keeps
serving meanwhile. Reloading a Playbook whose adapter is unchanged reuses the
store's catalog instead of fetching it again.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.base import Adapter, PosError
from agi.catalog import Catalog
from agi.catalog_sync import CatalogStore
from agi.playbook import LoadedPlaybook, Playbook, load_playbook
from agi.pos_adapter import AdapterSpec, adapter_spec, close_adapter, location_key
from agi.yamlconf import ConfigError, Problem, load_model

if TYPE_CHECKING:
    from agi.config import WorkerConfig

log = logging.getLogger("callticket.catalog")


class CatalogUnavailable(ConfigError):
    """The Playbook is fine but its POS did not give its catalog: try again later."""


def uses_vendor_catalog(playbook: Playbook) -> bool:
    """A vendor POS and no local catalog file: the catalog comes from the vendor."""
    return playbook.pos.adapter != "local" and playbook.pos.catalog is None


def catalog_label(playbook: Playbook) -> str:
    """The `location` label of the catalog-age metric (as for local catalogs)."""
    return f"{playbook.business.id}/{playbook.pos.location}"


class LiveCatalog:
    """What a call reads on each turn: the store's catalog of one location.

    Should the location leave the store (its Playbook deleted mid-call), the
    call keeps the catalog its Playbook was loaded with.
    """

    def __init__(self, store: CatalogStore, location: str, loaded_with: Catalog):
        self.store = store
        self.location = location
        self.loaded_with = loaded_with

    def __call__(self) -> Catalog:
        try:
            return self.store.current(self.location)
        except KeyError:
            return self.loaded_with


class VendorCatalogs:
    def __init__(self, store: CatalogStore, data_dir: Path, config: WorkerConfig | None = None):
        self.store = store
        self.data_dir = Path(data_dir)
        self.config = config
        self._installed: dict[str, str] = {}  # location -> fingerprint of the adapter serving it
        self._lock = threading.Lock()

    def load(self, path: str | Path) -> LoadedPlaybook:
        """Load one Playbook (the registry's loader); raises ConfigError or CatalogUnavailable."""
        path = Path(path)
        playbook = load_model(path, Playbook)
        if not uses_vendor_catalog(playbook):
            loaded = load_playbook(path)
            self.forget(location_key(path))  # it may have used a vendor catalog before this edit
            return loaded
        location = location_key(path)
        spec = adapter_spec(path, playbook, self.config)
        fingerprint = spec.fingerprint()
        with self._lock:
            if self._installed.get(location) == fingerprint and location in self.store.locations():
                # Same POS binding: check against the catalog the store keeps fresh.
                catalog = self.store.current(location)
                loaded = load_playbook(path, catalog=catalog)
            else:
                adapter = self._adapter(path, spec)
                read_at = time.time()  # webhook changes dated before this are in the catalog already
                catalog = self._fetch(path, spec.vendor, adapter)
                try:
                    loaded = load_playbook(path, catalog=catalog)
                except ConfigError:
                    close_adapter(adapter)
                    raise
                # Only a Playbook that checks out replaces what its location serves.
                self.store.install(location, adapter, catalog, playbook.pos.refresh_s, label=catalog_label(playbook),
                                   read_at=read_at)
                self._installed[location] = fingerprint
                log.info("vendor catalog loaded", extra={"fields": {
                    "location": location, "vendor": spec.vendor, "items": len(catalog.items)}})
        return LoadedPlaybook(path, loaded.playbook, catalog, live=LiveCatalog(self.store, location, catalog))

    def forget(self, name: str) -> None:
        """The Playbook is gone (or uses a local catalog now): stop refreshing its vendor catalog."""
        with self._lock:
            if self._installed.pop(name, None) is not None:
                self.store.unregister(name)
                log.info("vendor catalog dropped", extra={"fields": {"location": name}})

    def _adapter(self, path: Path, spec: AdapterSpec) -> Adapter:
        try:
            return spec.build(self.data_dir)
        except PosError as exc:  # a missing credential or setting: fixed by an edit, not by waiting
            raise ConfigError([Problem(str(path), 0, "pos", str(exc))]) from None

    @staticmethod
    def _fetch(path: Path, vendor: str, adapter: Adapter) -> Catalog:
        try:
            return adapter.fetch_catalog()
        except Exception as exc:  # whatever stopped the fetch, the vendor may answer on the next pass
            close_adapter(adapter)
            reason = str(exc).removeprefix(f"{vendor}: ") or type(exc).__name__
            raise CatalogUnavailable([Problem(str(path), 0, "pos",
                                              f"cannot fetch catalog from {vendor}: {reason}")]) from None
