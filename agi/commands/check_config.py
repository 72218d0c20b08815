"""`callticket check-config [--config PATH]`: is this worker ready to take calls?

Checks, in order: the config file; every Playbook (and its local catalog);
that routes name existing Playbooks; that the PBX the config serves (`pbx:`)
can dial every transfer target; that every secret the config names is
set (never printing it); the data directory; the outbox database; and whether
each POS API host can be reached. Without a network the POS lines say
"offline" and the command still ends within a few seconds.

A Playbook with a vendor POS and no local catalog file is checked the way
serve-agi and serve-esl load it (agi.vendor_catalogs): its adapter must build
from the settings and credentials, and when the API host answers, the catalog
is fetched and the Playbook's references are checked against it. A fetch that
fails is reported with the worker's own line
(`file:0: pos: cannot fetch catalog from <vendor>: <reason>`), as a warning
like an offline host: the worker starts anyway and keeps trying.

Exit 0 when nothing is wrong (offline POS hosts are reported, not failed,
unless --strict); 1 with one line per problem, `file:line: field: message`
where a file is to blame.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import os
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from adapters.base import PosError
from agi.catalog_sync import CatalogStore
from agi.config import WorkerConfig, config_path, load_config
from agi.dialstrings import Pbx
from agi.ops_http import outbox_check
from agi.playbook import Playbook, check_playbook
from agi.pos_adapter import adapter_spec, close_adapter
from agi.vendor_catalogs import CatalogUnavailable, VendorCatalogs, uses_vendor_catalog
from agi.yamlconf import ConfigError, Problem, check_refs, read_yaml

# Production API hosts (../pos-specs notes); `pos.base_urls` overrides (sandbox, region).
VENDOR_URLS = {
    "square": "https://connect.squareup.com",
    "clover": "https://api.clover.com",
    "toast": "https://ws-api.toasttab.com",
    "loyverse": "https://api.loyverse.com",
    "eposnow": "https://api.eposnowhq.com",
    "revel": "https://{subdomain}.revelup.com",
}
NETWORK_DEADLINE_S = 4.0
NO_ANSWER = "no network: no answer before the deadline"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("check-config", help="validate the worker config, Playbooks, secrets and POS reachability")
    p.add_argument("--config", type=Path, default=None,
                   help="worker config (default $CALLTICKET_CONFIG or /etc/callticket/callticket.yaml)")
    p.add_argument("--strict", action="store_true", help="an offline or unreachable POS is an error too")
    p.add_argument("--timeout", type=float, default=NETWORK_DEADLINE_S, help="seconds for all network checks together")
    p.set_defaults(func=run)


@dataclass
class Report:
    problems: list[str]
    warnings: list[str]

    def ok(self, line: str) -> None:
        print(f"ok       {line}")

    def warn(self, line: str) -> None:
        self.warnings.append(line)
        print(f"warning  {line}")

    def fail(self, line: str) -> None:
        self.problems.append(line)
        print(f"error    {line}")


def run(args: argparse.Namespace) -> int:
    report = Report([], [])
    path = config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in the config", file=sys.stderr)
        return 1
    report.ok(f"config {path or '(built-in defaults)'}")
    for name, listen in config.listeners().items():
        exposed = "" if listen.host in ("127.0.0.1", "::1", "localhost") else "  (not loopback: firewall it)"
        print(f"         {name:24} {listen}{exposed}")

    loaded = check_playbooks(config, path, report)
    check_transfer_targets(config, loaded, report)
    check_secrets(config, loaded, report)
    check_data_dir(config, report)
    # Network checks run side by side under one deadline: a few seconds at most.
    deadline = time.monotonic() + max(0.5, args.timeout)
    outbox = start_outbox_check(config, deadline)
    check_pos(config, loaded, report, deadline, args.strict)
    report_outbox(config, report, outbox, deadline)

    if report.problems:
        print(f"{len(report.problems)} problem(s), {len(report.warnings)} warning(s)", file=sys.stderr)
        return 1
    print(f"ready: {len(loaded)} playbook(s), {len(report.warnings)} warning(s)", file=sys.stderr)
    return 0


def check_playbooks(config: WorkerConfig, path: Path | None, report: Report) -> dict[str, Playbook]:
    """Every Playbook in the directory; returns those that are valid, by file stem."""
    directory = config.playbooks.dir
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        report.fail(f"{directory}: no Playbooks (*.yaml) in playbooks.dir")
        return {}
    good: dict[str, Playbook] = {}
    for f in files:
        try:
            playbook = check_playbook(f)
        except ConfigError as exc:
            for problem in exc.problems:
                report.fail(str(problem))
            continue
        good[f.stem] = playbook
        report.ok(f"playbook {f.stem} ({playbook.business.name}, pos {playbook.pos.adapter})")
    ids = {p.business.id: stem for stem, p in good.items()}
    targets = dict(config.playbooks.routes)
    refs = [(("playbooks", "routes", k), f"no Playbook '{v}' in {directory}")
            for k, v in targets.items() if v not in good and v not in ids]
    if config.playbooks.default and config.playbooks.default not in good and config.playbooks.default not in ids:
        refs.append((("playbooks", "default"), f"no Playbook '{config.playbooks.default}' in {directory}"))
    if refs:
        if path is not None:
            for problem in check_refs(path, read_yaml(path), refs):
                report.fail(str(problem))
        else:
            for loc, message in refs:
                report.fail(f"{'.'.join(map(str, loc))}: {message}")
    return good


def check_transfer_targets(config: WorkerConfig, playbooks: dict[str, Playbook], report: Report) -> None:
    """Can the PBX that takes the calls dial every transfer target? (Asterisk dials
    PJSIP/100, FreeSWITCH user/1000.) The PBXs of `pbx:`: errors; no `pbx:`, both: warnings."""
    served = [Pbx(name) for name in config.pbx]
    warned = False
    for stem, playbook in playbooks.items():
        path = _playbook_file(config, stem)
        for pbx in served or list(Pbx):
            refs = playbook.escalation.problems_on(pbx)
            for problem in check_refs(path, read_yaml(path), refs) if refs else ():
                if served:
                    report.fail(str(problem))
                else:
                    report.warn(str(problem))
                    warned = True
    if warned:
        report.warn("pbx: not set; name the PBX(es) this worker serves (pbx: [asterisk]) and only theirs are checked")


def check_secrets(config: WorkerConfig, playbooks: dict[str, Playbook], report: Report) -> None:
    for field, ref in config.secrets().items():
        if ref.value():
            report.ok(f"secret {field} ({ref.describe()}) is set")
        else:
            missing = "is not set or empty" if ref.env else "cannot be read or is empty"
            report.fail(f"secret {field}: {ref.describe()} {missing}")
    for stem, playbook in playbooks.items():
        if playbook.pos.adapter == "local":
            continue
        creds = config.pos.credentials.get(stem) or config.pos.credentials.get(playbook.business.id)
        if not creds:
            report.fail(f"pos.credentials.{playbook.business.id}: none configured for its {playbook.pos.adapter} POS")


def check_data_dir(config: WorkerConfig, report: Report) -> None:
    d = config.data_dir
    probe = d if d.exists() else next((p for p in d.parents if p.exists()), d)
    if os.access(probe, os.W_OK):
        report.ok(f"data_dir {d}" + ("" if d.exists() else " (will be created)"))
    else:
        report.fail(f"data_dir {d}: not writable by this user")


def start_outbox_check(config: WorkerConfig, deadline: float):  # type: ignore[no-untyped-def]
    password = config.outbox.password.value() if config.outbox.password else None
    check = outbox_check(config.outbox.dsn, config.data_dir, password, timeout_s=max(1, int(deadline - time.monotonic())))
    return _start(check)


def report_outbox(config: WorkerConfig, report: Report, started, deadline: float) -> None:  # type: ignore[no-untyped-def]
    thread, box = started
    thread.join(max(0.0, deadline - time.monotonic()))
    result = box.get("result")
    where = "postgresql" if config.outbox.is_postgres else "sqlite"
    if result is None:
        report.fail(f"outbox ({where}): no answer before the deadline")
    elif isinstance(result, BaseException):
        report.fail(f"outbox ({where}): {type(result).__name__}: {str(result).strip().splitlines()[0] if str(result).strip() else ''}")
    elif result[0]:
        report.ok(f"outbox {result[1]}")
    else:
        report.fail(f"outbox ({where}): {result[1]}")


def pos_url(config: WorkerConfig, playbook: Playbook) -> str | None:
    vendor = playbook.pos.adapter
    url = playbook.pos.settings.get("base_url") or config.pos.base_urls.get(vendor) or VENDOR_URLS.get(vendor)  # type: ignore[call-overload]
    if url and "{subdomain}" in url:
        sub = playbook.pos.settings.get("subdomain")
        url = url.format(subdomain=sub) if sub else None
    return url


def check_pos(config: WorkerConfig, playbooks: dict[str, Playbook], report: Report, deadline: float,
              strict: bool) -> None:
    targets: dict[str, list[str]] = {}
    for stem, playbook in playbooks.items():
        if playbook.pos.adapter == "local":
            report.ok(f"pos {stem}: embedded local POS")
            continue
        if not check_vendor_adapter(config, stem, playbook, report):
            continue
        url = pos_url(config, playbook)
        if url is None:
            report.fail(f"pos {stem}: {playbook.pos.adapter} needs pos.settings.subdomain (or base_url)")
            continue
        targets.setdefault(url, []).append(stem)
    # Probe each host once, all at the same time, with one deadline for all.
    probes = {url: _start(lambda u=url: probe(u, deadline)) for url in targets}
    vendors = VendorCatalogs(CatalogStore(), config.data_dir, config)  # the workers' loader (no threads)
    fetches: dict[str, tuple[threading.Thread, dict[str, object]]] = {}
    for url, stems in targets.items():
        result = _wait(probes[url], deadline)
        status, detail = result if result is not None else ("offline", NO_ANSWER)
        line = f"pos {', '.join(stems)} ({playbooks[stems[0]].pos.adapter}) {url}: {status} ({detail})"
        if status == "reachable":
            report.ok(line)
            fetches.update({stem: _start(lambda s=stem: vendors.load(_playbook_file(config, s)))
                            for stem in stems if uses_vendor_catalog(playbooks[stem])})
        else:
            _offline(report, line, strict)
    for stem, started in fetches.items():
        check_vendor_catalog(stem, playbooks[stem].pos.adapter, started, report, deadline, strict)


def check_vendor_adapter(config: WorkerConfig, stem: str, playbook: Playbook, report: Report) -> bool:
    """Does the adapter build from the settings and credentials, as a worker builds it? (no network)"""
    path = _playbook_file(config, stem)
    try:
        close_adapter(adapter_spec(path, playbook, config).build(config.data_dir))
    except PosError as exc:
        report.fail(str(Problem(str(path), 0, "pos", str(exc))))
        return False
    return True


def check_vendor_catalog(stem: str, vendor: str, started, report: Report, deadline: float,  # type: ignore[no-untyped-def]
                         strict: bool) -> None:
    """The catalog fetched and the Playbook checked against it, as a worker loads it."""
    thread, box = started
    thread.join(max(0.0, deadline - time.monotonic()))
    result = box.get("result")
    if result is None:
        _offline(report, f"catalog {stem} ({vendor}): offline ({NO_ANSWER})", strict)
    elif isinstance(result, CatalogUnavailable):  # the worker starts and keeps trying
        for problem in result.problems:
            _offline(report, str(problem), strict)
    elif isinstance(result, ConfigError):  # the worker refuses this Playbook
        for problem in result.problems:
            report.fail(str(problem))
    elif isinstance(result, BaseException):
        report.fail(f"catalog {stem} ({vendor}): {type(result).__name__}: {result}")
    else:
        report.ok(f"catalog {stem} ({vendor}): {len(result.catalog.items)} items, the Playbook checks against it")


def _offline(report: Report, line: str, strict: bool) -> None:
    if strict:
        report.fail(line)
    else:
        report.warn(line)


def _playbook_file(config: WorkerConfig, stem: str) -> Path:
    yaml = config.playbooks.dir / f"{stem}.yaml"
    return yaml if yaml.exists() else config.playbooks.dir / f"{stem}.yml"


def probe(url: str, deadline: float) -> tuple[str, str]:
    """Does the API host answer HTTP? ('reachable' | 'offline' | 'unreachable', detail).

    A HEAD request without credentials: any HTTP status counts as reachable
    (a 401 or 404 still proves the route), since a bare TCP connect can be
    accepted by a proxy that goes nowhere.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return "offline", f"no network: cannot resolve {host} ({exc.strerror})"
    left = deadline - time.monotonic()
    if left <= 0:
        return "offline", NO_ANSWER
    conn_cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=left)
    try:
        conn.request("HEAD", parts.path or "/", headers={"User-Agent": "callticket-check-config"})
        status = conn.getresponse().status
    except (socket.timeout, TimeoutError):
        return "offline", NO_ANSWER
    except ConnectionRefusedError:
        return "unreachable", "connection refused"
    except ssl.SSLError as exc:
        return "unreachable", f"TLS: {exc.reason or exc}"
    except (http.client.HTTPException, ConnectionError) as exc:
        return "unreachable", f"{type(exc).__name__}: {exc}"
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
            return "offline", f"no network: {exc.strerror}"
        return "unreachable", exc.strerror or str(exc)
    finally:
        conn.close()
    return "reachable", f"HTTP {status}"


def _start(fn):  # type: ignore[no-untyped-def]
    """Run fn in a daemon thread (a stuck DNS lookup must not hold the exit)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # reported by the caller
            box["result"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _wait(started, deadline: float):  # type: ignore[no-untyped-def]
    thread, box = started
    thread.join(max(0.0, deadline - time.monotonic()))
    result = box.get("result")
    if isinstance(result, BaseException):
        return "offline", f"{type(result).__name__}: {result}"
    return result

