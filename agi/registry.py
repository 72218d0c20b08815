"""PlaybookRegistry: every Playbook of a directory, reloaded when its files change.

    registry = PlaybookRegistry.from_config(config.playbooks)
    registry.start()                      # watch thread (polls mtimes)
    registry.install_sighup()             # `systemctl reload` / kill -HUP
    loaded = registry.get("pizzeria")     # route name, dialled number or id
    ...
    registry.stop()

`get()` returns a `LoadedPlaybook` that is never changed afterwards: a reload
builds new objects and swaps them in, so a call keeps the Playbook and
catalog it started with while the next call gets the new ones. A Playbook (or
its local catalog) that fails validation is refused: each problem is logged as
`file:line: field: message`, kept in `errors`, and the previous version keeps
serving. A refused Playbook is tried again when one of its files changes, or
on every watch pass when the refusal was a POS that could not be reached
(`CatalogUnavailable`). A Playbook whose file is deleted stops taking new calls.

Vendor POS catalogs: with `loader=VendorCatalogs(...).load` (agi.vendor_catalogs)
a Playbook without a local catalog file is checked against its vendor's
catalog, and its calls read that catalog live from the catalog store.

Routes: the config's `routes` map (AGI route name or DNID -> Playbook) wins;
then a Playbook's file stem or business id; then `default`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from agi import metrics as _metrics
from agi.playbook import LoadedPlaybook, load_playbook
from agi.vendor_catalogs import CatalogUnavailable
from agi.yamlconf import ConfigError, Problem

log = logging.getLogger("callticket.registry")


@dataclass(frozen=True, slots=True)
class _Entry:
    loaded: LoadedPlaybook
    files: tuple[Path, ...]  # the Playbook and the catalog it was checked against
    digest: str  # content of those files when loaded


@dataclass(frozen=True, slots=True)
class Change:
    """What one `check()` did to one Playbook file."""

    name: str
    action: str  # "loaded" | "reloaded" | "refused" | "removed" ("unchanged" is not reported)
    problems: tuple[Problem, ...] = ()


_NUMBERISH = re.compile(r"^\+?[\d\s().-]{3,}$")


def route_key(key: str) -> str:
    """Dialled numbers compare by digits only ('+1 555-123 0000' == '15551230000')."""
    key = key.strip()
    return re.sub(r"\D", "", key) if _NUMBERISH.match(key) else key


class PlaybookRegistry:
    def __init__(
        self,
        directory: str | Path,
        routes: Mapping[str, str] | None = None,
        default: str | None = None,
        poll_s: float = 2.0,
        metrics: _metrics.Metrics | None = None,
        loader: Callable[[Path], LoadedPlaybook] = load_playbook,
        on_removed: Callable[[str], None] | None = None,
    ):
        self.directory = Path(directory)
        self.routes = {route_key(k): v for k, v in (routes or {}).items()}
        self.default = default
        self.poll_s = poll_s
        self.metrics = metrics or _metrics.METRICS
        self._loader = loader
        self._on_removed = on_removed
        self._unavailable: set[str] = set()  # refused because the POS did not answer: retried each pass
        self._waiting: tuple[str, ...] = ()  # the same, published for readers in other threads
        self._entries: Mapping[str, _Entry] = MappingProxyType({})
        self._errors: Mapping[str, tuple[Problem, ...]] = MappingProxyType({})
        self._stats: dict[Path, tuple[int, int, int]] = {}
        self._lock = threading.Lock()  # one reload at a time; readers never wait
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.check()

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> "PlaybookRegistry":
        """From an `agi.config.PlaybooksConfig`."""
        return cls(config.dir, config.routes, config.default, config.poll_s, **kwargs)

    # ------------------------------------------------------------- reading

    @property
    def names(self) -> list[str]:
        return sorted(self._entries)

    @property
    def errors(self) -> Mapping[str, tuple[Problem, ...]]:
        """Problems of the last refused load, by Playbook name (file stem)."""
        return self._errors

    @property
    def waiting(self) -> list[str]:
        """Playbooks refused because their POS did not give its catalog (tried again each pass)."""
        return list(self._waiting)

    def all(self) -> dict[str, LoadedPlaybook]:
        return {name: e.loaded for name, e in self._entries.items()}

    def get(self, route: str | None, dnid: str | None = None) -> LoadedPlaybook | None:
        """The Playbook now serving `route` (or the dialled number), or None."""
        name = self.resolve(route, dnid)
        entry = self._entries.get(name) if name else None
        return entry.loaded if entry else None

    def resolve(self, route: str | None, dnid: str | None = None) -> str | None:
        entries = self._entries
        for key in (route, dnid):
            if not key:
                continue
            target = self.routes.get(route_key(key))
            if target is not None:
                return self._name_of(target, entries)
        if route:
            name = self._name_of(route, entries)
            if name is not None:
                return name
        return self._name_of(self.default, entries) if self.default else None

    @staticmethod
    def _name_of(key: str, entries: Mapping[str, _Entry]) -> str | None:
        if key in entries:
            return key
        return next((n for n, e in entries.items() if e.loaded.id == key), None)

    # ------------------------------------------------------------- loading

    def check(self) -> list[Change]:
        """Load new or changed Playbooks and catalogs; forget deleted ones."""
        with self._lock:
            return self._check()

    def reload(self) -> list[Change]:
        """Load every Playbook again whatever its mtime (SIGHUP)."""
        with self._lock:
            self._stats.clear()
            return self._check(force=True)

    def _check(self, force: bool = False) -> list[Change]:
        entries = dict(self._entries)
        errors = dict(self._errors)
        changes: list[Change] = []
        files = {p.stem: p for p in sorted(self.directory.glob("*.yaml")) + sorted(self.directory.glob("*.yml"))}
        for name in sorted(set(entries) | set(errors)):
            if name not in files:
                if entries.pop(name, None) is not None:
                    changes.append(Change(name, "removed"))
                    log.warning("playbook removed", extra={"fields": {"playbook": name}})
                errors.pop(name, None)
                self._unavailable.discard(name)
                if self._on_removed is not None:
                    self._on_removed(name)
        for name, path in files.items():
            old = entries.get(name)
            watched = old.files if old else (path,)
            if not force and not self._stat_changed(watched) and name not in errors:
                continue
            if (not force and name in errors and name not in self._unavailable
                    and not self._stat_changed(watched + self._error_files(errors[name]))):
                continue
            change, entry = self._load(name, path, old)
            if change.action == "refused":
                errors[name] = change.problems
                changes.append(change)
                continue
            errors.pop(name, None)
            if entry is not None:
                entries[name] = entry
                changes.append(change)
        self._entries = MappingProxyType(entries)
        self._errors = MappingProxyType(errors)
        self._waiting = tuple(sorted(self._unavailable))
        self.metrics.playbooks_loaded(len(entries))
        return changes

    def _load(self, name: str, path: Path, old: _Entry | None) -> tuple[Change, _Entry | None]:
        """Load one file: a refusal, a new entry, or (None) unchanged content."""
        try:
            loaded = self._loader(path)
        except ConfigError as exc:
            problems = tuple(exc.problems)
            self._remember(path, problems)
            if isinstance(exc, CatalogUnavailable):
                still = name in self._unavailable
                self._unavailable.add(name)
                if still:  # the POS is still down: tried again quietly, reported once
                    log.debug("playbook still refused: %s", problems[0], extra={"fields": {"playbook": name}})
                    return Change(name, "refused", problems), None
            else:
                self._unavailable.discard(name)
            self.metrics.playbook_reload(False)
            for p in problems:
                log.error("playbook refused: %s", p, extra={"fields": {"playbook": name, "keeps_serving": old is not None}})
            return Change(name, "refused", problems), None
        except Exception as exc:  # a loader bug must not stop the other Playbooks
            self._unavailable.discard(name)
            problem = Problem(str(path), 0, "<file>", f"{type(exc).__name__}: {exc}")
            self.metrics.playbook_reload(False)
            log.exception("playbook refused", extra={"fields": {"playbook": name}})
            self._remember(path, (problem,))
            return Change(name, "refused", (problem,)), None
        self._unavailable.discard(name)
        files = (path,) + self._catalog_files(loaded)
        digest = self._digest(files)
        self._remember_files(files)
        if old is not None and old.digest == digest:
            # Touched (or a broken edit undone), not changed: keep the objects.
            return Change(name, "unchanged"), None
        self.metrics.playbook_reload(True)
        if loaded.live is None:  # a vendor catalog's age is kept by the catalog store
            self.metrics.catalog_refreshed(f"{loaded.id}/{loaded.playbook.pos.location}")
        action = "reloaded" if old is not None else "loaded"
        log.info(f"playbook {action}", extra={"fields": {"playbook": name, "business": loaded.id, "file": str(path)}})
        return Change(name, action), _Entry(loaded, files, digest)

    @staticmethod
    def _catalog_files(loaded: LoadedPlaybook) -> tuple[Path, ...]:
        catalog = loaded.playbook.pos.catalog
        return ((loaded.path.parent / catalog).resolve(),) if catalog else ()

    @staticmethod
    def _error_files(problems: tuple[Problem, ...]) -> tuple[Path, ...]:
        return tuple(Path(p.file) for p in problems)

    def _remember(self, path: Path, problems: tuple[Problem, ...]) -> None:
        self._remember_files((path,) + self._error_files(problems))

    def _remember_files(self, files: tuple[Path, ...]) -> None:
        for f in files:
            self._stats[f] = self._stat(f)

    def _stat_changed(self, files: tuple[Path, ...]) -> bool:
        return any(self._stats.get(f) != self._stat(f) for f in files)

    @staticmethod
    def _stat(path: Path) -> tuple[int, int, int]:
        try:
            st = path.stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    @staticmethod
    def _digest(files: tuple[Path, ...]) -> str:
        h = hashlib.sha256()
        for f in files:
            try:
                h.update(f.read_bytes())
            except OSError:
                h.update(b"\0missing")
        return h.hexdigest()

    # ------------------------------------------------------------ watching

    def start(self) -> None:
        """Poll the files every `poll_s` seconds in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="playbook-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def request_reload(self) -> None:
        """Reload everything soon, from the watch thread (safe in a signal handler)."""
        self._force = True
        self._wake.set()
        if self._thread is None:
            self.reload()

    _force = False

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self._force:
                    self._force = False
                    self.reload()
                else:
                    self.check()
            except Exception:  # keep watching whatever one pass hit
                log.exception("playbook watch pass failed")
                time.sleep(min(self.poll_s, 5.0))

    def install_sighup(self) -> None:
        """SIGHUP reloads every Playbook (main thread only, as Python requires)."""
        signal.signal(signal.SIGHUP, lambda signum, frame: self.request_reload())
