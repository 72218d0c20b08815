"""`callticket serve-esl`: the FreeSWITCH worker (outbound Event Socket + unicast audio).

    callticket serve-esl [--config /etc/callticket/callticket.yaml]

FreeSWITCH's dialplan hands each call over with
`<action application="socket" data="127.0.0.1:8084 async full"/>`
(freeswitch-conf/). The Playbook is the one named by the channel variable
`callticket_playbook` (`<playbooks.dir>/<name>.yaml`), else the one routed
for the dialled number in `playbooks.routes`, else `playbooks.default`.

This process runs on gevent and nothing else: it never shares a process
with the asyncio Asterisk worker.

A Playbook with a vendor POS and no local catalog file is checked against the
vendor's catalog and its calls read it live: refreshed every `pos.refresh_s`,
and, with `webhooks.enabled`, changed by the vendor's signed webhooks on
`POST /webhooks/<Playbook file stem>` (agi.catalog_service; OS threads beside
the gevent hub).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve-esl", help="run the FreeSWITCH worker (outbound Event Socket + unicast audio)")
    p.add_argument("--config", type=Path, help="worker config (default $CALLTICKET_CONFIG or /etc/callticket/callticket.yaml)")
    p.add_argument("--listen", metavar="HOST:PORT", help="outbound Event Socket address (default 127.0.0.1:8084)")
    p.add_argument("--media-host", help="our address for unicast audio, as FreeSWITCH reaches it (default 127.0.0.1)")
    p.add_argument("--media-ports", metavar="LOW-HIGH", help="UDP ports for unicast audio (default: freeswitch.media_ports, 61000-61999)")
    p.add_argument("--playbooks", type=Path, help="directory of <name>.yaml Playbooks")
    p.add_argument("--data-dir", type=Path, help="local POS, outbox and caches")
    p.add_argument("--max-calls", type=int, help="calls handled at once; beyond, the call goes back to the dialplan")
    p.add_argument("--transfer-mode", choices=["bridge", "uuid_transfer"], default="bridge",
                   help="bridge from this socket (default), or uuid_transfer to the transfer context")
    p.add_argument("--transfer-context", default="callticket-transfer",
                   help="dialplan context of the uuid_transfer mode (default callticket-transfer)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def split_hostport(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise SystemExit(f"serve-esl: {option} wants HOST:PORT, got {value!r}")
    return host, int(port)


def split_range(value: str) -> tuple[int, int]:
    low, sep, high = value.partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or not (1024 <= int(low) <= int(high) <= 65535):
        raise SystemExit(f"serve-esl: --media-ports wants LOW-HIGH within 1024-65535, got {value!r}")
    return int(low), int(high)


def run(args: argparse.Namespace) -> int:
    import gevent
    import gevent.event

    from agi.catalog_service import CatalogService
    from agi.commands.worker_start import load_config_and_logging, load_playbooks
    from agi.pbx.freeswitch.driver import GreenSpeech
    from agi.pbx.freeswitch.worker import EslWorker, EslWorkerConfig, playbook_runners
    from agi.speech.stt import settings_from_env

    config = load_config_and_logging(args)
    if config is None:
        return 1
    fs = config.freeswitch
    host, port = split_hostport(args.listen, "--listen") if args.listen else (fs.esl.host, fs.esl.port)
    media_ports = split_range(args.media_ports) if args.media_ports else tuple(fs.media_ports)
    data_dir = args.data_dir or config.data_dir
    pb = config.playbooks
    catalogs = CatalogService(config, data_dir)
    registry = load_playbooks(catalogs, args, "serve-esl")
    if registry is None:
        return 1
    if config.source is not None:
        stt = config.stt.settings()
    else:
        stt = settings_from_env()
    speech = GreenSpeech(stt, str(config.tts_cache_dir))
    languages = sorted({lang for loaded in registry.all().values() for lang in loaded.playbook.business.languages})
    try:
        speech.warm(languages or ["en"])  # load the model now, not on a caller's first words
    except Exception as exc:  # noqa: BLE001 (reported, the worker does not start)
        print(f"serve-esl: speech-to-text model: {exc}", file=sys.stderr)
        return 1
    worker_config = EslWorkerConfig(
        host=host, port=port, media_host=args.media_host or fs.media_host, media_ports=media_ports,
        max_calls=args.max_calls or fs.max_calls, transfer_mode=args.transfer_mode,
        transfer_context=args.transfer_context)
    from agi.ops_http import Lifecycle
    from agi.records import CallRecords

    lifecycle = Lifecycle(records=CallRecords.from_config(config.model_copy(update={"data_dir": Path(data_dir)})))
    if lifecycle.records is not None:  # a records database that is down: calls go on, /readyz says so
        lifecycle.add_check("records", lifecycle.records.check)
    worker = EslWorker(worker_config, playbook_runners(registry, data_dir, speech, config), lifecycle)
    if not catalogs.start_for("serve-esl"):
        return 1
    if pb.watch:
        registry.start()
    try:
        worker.start()
    except OSError as exc:
        print(f"serve-esl: {exc}", file=sys.stderr)
        registry.stop()
        catalogs.stop()
        return 1
    print(f"serve-esl: outbound Event Socket on {host}:{worker.address[1]}, "
          f"unicast UDP {worker_config.media_host}:{media_ports[0]}-{media_ports[1]}", file=sys.stderr, flush=True)
    ops = None
    if config.metrics.enabled and config.source is not None:  # built-in defaults: no fixed port to take
        from agi.ops_http import OpsServer, outbox_check

        password = config.outbox.password.value() if config.outbox.password else None
        lifecycle.add_check("outbox", outbox_check(config.outbox.dsn, data_dir, password))
        ops = OpsServer(config.metrics.listen("serve_esl"), lifecycle).start()
        print(f"serve-esl: metrics and health on {ops.url}", file=sys.stderr, flush=True)
    stop = gevent.event.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    # systemd's ExecReload: re-read Playbooks now (calls in progress keep theirs).
    gevent.signal_handler(signal.SIGHUP, lambda: gevent.get_hub().threadpool.spawn(registry.reload))
    try:
        stop.wait()
    finally:
        lifecycle.accepting = False
        worker.stop(grace_s=config.shutdown.grace_s)
        registry.stop()
        catalogs.stop()
        if ops is not None:
            ops.stop()
        if lifecycle.records is not None:
            lifecycle.records.close()
    return 0
