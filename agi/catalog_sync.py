"""The live catalog of every location: what the dialogue reads on each turn.

    store = CatalogStore()
    store.register("pizzeria", adapter, refresh_s=60)
    store.install("squarepizza", adapter2, adapter2.fetch_catalog())  # swapped in with its catalog
    store.start()                          # background refresh on each interval
    catalog = store.current("pizzeria")    # cheap: the cached, normalised catalog
    store.apply(change)                    # from a webhook: 86 at once, or re-sync now

A webhook's availability change is applied to the cached catalog before the
webhook is answered, so the next dialogue turn already refuses the item. A
change that arrives while a full refresh is in flight is re-applied on top of
the refreshed catalog (the fetch may have read the POS just before the change).

An older state never replaces a newer one: each change is dated (the
vendor's event time, else its arrival), and it is ignored for a catalog id
that a newer change already set, or when the whole catalog was read from
the POS after it happened (a retried "sold out" from this morning does not
undo this afternoon's "back in stock", nor a re-sync that read it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.base import Adapter, CatalogChange
from agi.catalog import Catalog

if TYPE_CHECKING:
    from agi.metrics import Metrics

log = logging.getLogger("callticket.catalog")

# How much earlier than a full fetch's start a change may be dated and still be
# laid over the fetched catalog: the POS may answer the fetch from a copy a
# moment old, and clocks differ a little.
SKEW_S = 1.0

Listener = Callable[[str, Catalog], None]


@dataclass(frozen=True)
class Applied:
    """What `CatalogStore.apply` did with a change."""

    changed: tuple[str, ...] = ()  # catalog ids set from it
    older: tuple[str, ...] = ()  # ids a newer state had already set: left as they were
    resync: bool = False  # a full fetch was asked for

    @property
    def anything(self) -> bool:
        return bool(self.changed) or self.resync


@dataclass
class _Location:
    adapter: Adapter
    refresh_s: float
    label: str  # the location label of the catalog-age metric
    catalog: Catalog | None = None
    loaded_at: float = 0.0  # monotonic
    next_at: float = 0.0
    fetch_started: float | None = None
    recent: list[tuple[float, dict[str, bool]]] = field(default_factory=list)  # (dated, changes)
    read_at: float = 0.0  # wall clock: when the POS was read for the catalog held
    dated: dict[str, float] = field(default_factory=dict)  # catalog id -> date of the change that set it
    lock: threading.Lock = field(default_factory=threading.Lock)  # one fetch at a time per location
    error: str | None = None


class CatalogStore:
    def __init__(self, refresh_s: float = 60.0, metrics: Metrics | None = None):
        self.default_refresh_s = refresh_s
        self.metrics = metrics
        self._locations: dict[str, _Location] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Listener] = []

    # ------------------------------------------------------------ set up

    def register(self, location: str, adapter: Adapter, refresh_s: float | None = None,
                 label: str | None = None) -> None:
        """Add (or replace) a location; its catalog is fetched on first use or by the refresh thread."""
        with self._guard:
            self._locations[location] = _Location(adapter, refresh_s or self.default_refresh_s, label or location)
        self._wake.set()

    def install(self, location: str, adapter: Adapter, catalog: Catalog, refresh_s: float | None = None,
                label: str | None = None, read_at: float | None = None) -> None:
        """Add (or replace) a location with the catalog its adapter has just fetched
        (`read_at`: when that fetch started, wall clock; default now).

        A location that is being served is swapped in one step, so it never
        goes without a catalog (`register` leaves it empty until the next fetch).
        """
        entry = _Location(adapter, refresh_s or self.default_refresh_s, label or location)
        with self._guard:
            entry.catalog = catalog
            entry.read_at = time.time() if read_at is None else read_at
            entry.loaded_at = time.monotonic()
            entry.next_at = entry.loaded_at + entry.refresh_s
            old = self._locations.get(location)
            self._locations[location] = entry
        if old is not None and old.label != entry.label and self.metrics is not None:
            self.metrics.catalog_dropped(old.label)
        self._loaded(entry)
        self._wake.set()
        self._notify(location, catalog)

    def unregister(self, location: str) -> None:
        """Stop refreshing a location and answering its webhooks."""
        with self._guard:
            entry = self._locations.pop(location, None)
        if entry is not None and self.metrics is not None:
            self.metrics.catalog_dropped(entry.label)

    def adapter(self, location: str) -> Adapter | None:
        entry = self._locations.get(location)
        return entry.adapter if entry else None

    def locations(self) -> list[str]:
        return list(self._locations)

    # ----------------------------------------------------------- reading

    def current(self, location: str) -> Catalog:
        """The location's catalog; fetched now if it was never loaded."""
        entry = self._entry(location)
        catalog = entry.catalog
        if catalog is None:
            return self.refresh(location)
        return catalog

    def age_s(self, location: str) -> float | None:
        entry = self._entry(location)
        return None if entry.catalog is None else time.monotonic() - entry.loaded_at

    # ---------------------------------------------------------- updating

    def refresh(self, location: str) -> Catalog:
        """Fetch the whole catalog from the POS now (the interval refresh and `resync`)."""
        entry = self._entry(location)
        with entry.lock:
            started = time.monotonic()
            read_at = time.time()
            entry.fetch_started = started
            try:
                fresh = entry.adapter.fetch_catalog()
            except Exception as exc:
                entry.error = f"{type(exc).__name__}: {exc}"
                entry.next_at = time.monotonic() + min(entry.refresh_s, 10.0)  # try again soon
                log.warning("catalog refresh failed", extra={"fields": {"location": location, "error": entry.error}})
                if entry.catalog is not None:
                    return entry.catalog  # keep serving the last good catalog
                raise
            finally:
                entry.fetch_started = None
            with self._guard:
                # Changes dated after the fetch began win over what the fetch read.
                entry.recent = [(at, c) for at, c in entry.recent if at >= read_at - SKEW_S]
                late = {}
                for _, changes in sorted(entry.recent, key=lambda r: r[0]):
                    late.update(changes)
                if late:
                    fresh = _with(fresh, late)
                entry.catalog = fresh
                entry.read_at = read_at
                entry.dated = {k: at for k, at in entry.dated.items() if at >= read_at - SKEW_S}
                entry.loaded_at = time.monotonic()
                entry.next_at = entry.loaded_at + entry.refresh_s
                entry.error = None
                current = self._locations.get(location) is entry  # not replaced or dropped meanwhile
            if current:
                self._loaded(entry)
        self._notify(location, fresh)
        return fresh

    def apply(self, change: CatalogChange, location: str | None = None) -> Applied:
        """Apply a webhook's change: availability at once, a re-sync in the background.

        What is older than the state it would replace is left out (see the module docstring).
        """
        location = location or change.location
        if location is None or location not in self._locations:
            raise KeyError(f"no catalog location {location!r}")
        entry = self._locations[location]
        at = time.time() if change.occurred_at is None else change.occurred_at
        newer: dict[str, bool] = {}
        older: list[str] = []
        with self._guard:
            floor = entry.read_at - SKEW_S
            for cid, available in change.availability.items():
                if at < max(floor, entry.dated.get(cid, floor)):
                    older.append(cid)
                else:
                    newer[cid] = available
            if newer:
                entry.recent.append((at, newer))
                known = set(entry.catalog.ids()) if entry.catalog is not None else set(newer)
                entry.dated.update({cid: at for cid in newer if cid in known})  # only ids the catalog has
                if entry.catalog is not None:
                    entry.catalog = _with(entry.catalog, newer)
            catalog = entry.catalog
        if newer and catalog is not None:
            self._notify(location, catalog)
        resync = change.resync and at >= entry.read_at - SKEW_S  # a fetch since then already read it
        if resync:
            with self._guard:
                entry.next_at = 0.0
            self._wake.set()
            if self._thread is None:  # no background thread: re-sync in the caller
                self.refresh(location)
        return Applied(tuple(newer), tuple(older), resync)

    # ------------------------------------------------------ background

    def start(self) -> CatalogStore:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="catalog-sync", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            due = [loc for loc, e in list(self._locations.items()) if e.next_at <= now]
            for loc in due:
                if self._stop.is_set():
                    return
                try:
                    self.refresh(loc)
                except Exception:
                    pass  # logged in refresh; retried at next_at
            with self._guard:
                nxt = min((e.next_at for e in self._locations.values()), default=now + 1.0)
            self._wake.wait(max(0.0, min(nxt - time.monotonic(), 5.0)))
            self._wake.clear()

    # ----------------------------------------------------------- helpers

    def _entry(self, location: str) -> _Location:
        try:
            return self._locations[location]
        except KeyError:
            raise KeyError(f"no catalog location {location!r}") from None

    def _loaded(self, entry: _Location) -> None:
        """Catalog age per location (agi.metrics): a whole catalog was fetched just now."""
        if self.metrics is not None:
            self.metrics.catalog_refreshed(entry.label)

    def _notify(self, location: str, catalog: Catalog) -> None:
        for listener in self.listeners:
            try:
                listener(location, catalog)
            except Exception:
                log.exception("catalog listener failed")


def _with(catalog: Catalog, changes: dict[str, bool]) -> Catalog:
    """Availability changes; an 86'd variation that is the item's last one takes the item out too."""
    known = set(catalog.ids())
    relevant = {k: v for k, v in changes.items() if k in known}
    if not relevant:
        return catalog
    updated = catalog.with_availability(relevant)
    items = {}
    for item in updated.items:
        if item.variations and any(v.id in relevant for v in item.variations):
            items[item.id] = any(v.available for v in item.variations)
    return updated.with_availability(items) if items else updated
