"""`callticket serve-agi`: the Asterisk worker (FastAGI + AudioSocket).

    callticket serve-agi [--config /etc/callticket/callticket.yaml]

Settings come from the worker config (`asterisk:`, `playbooks:`, `data_dir`,
`logging:`); the options below override it for one run. Every
`<playbooks.dir>/<route>.yaml` answers `AGI(agi://127.0.0.1:4573/<route>)`,
`playbooks.routes` maps other route names or dialled numbers, and
`AGI(.../callticket-echo)` is a plumbing check that echoes the caller.

A Playbook with a vendor POS and no local catalog file is checked against the
vendor's catalog and its calls read it live: refreshed every `pos.refresh_s`,
and, with `webhooks.enabled`, changed by the vendor's signed webhooks on
`POST /webhooks/<Playbook file stem>` (agi.catalog_service).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve-agi", help="run the Asterisk worker (FastAGI + AudioSocket)")
    p.add_argument("--config", type=Path,
                   help="worker config (default $CALLTICKET_CONFIG or /etc/callticket/callticket.yaml)")
    p.add_argument("--listen", metavar="HOST:PORT", help="FastAGI address (default 127.0.0.1:4573)")
    p.add_argument("--audiosocket", metavar="HOST:PORT", help="AudioSocket address (default 127.0.0.1:9092)")
    p.add_argument("--audiosocket-advertise", metavar="HOST:PORT",
                   help="address Asterisk connects to, if not --audiosocket")
    p.add_argument("--playbooks", type=Path, help="directory of <route>.yaml Playbooks")
    p.add_argument("--data-dir", type=Path, help="local POS, outbox and caches")
    p.add_argument("--max-calls", type=int, help="calls handled at once; beyond, callers hear a busy prompt")
    p.add_argument("--transfer-mode", choices=["agi", "ami-redirect", "ami-blind"])
    p.add_argument("--predial", metavar="CONTEXT^EXTEN^PRIORITY",
                   help="dialplan run on the phone's channel before it rings (e.g. callticket-predial^s^1)")
    p.add_argument("--ami", metavar="HOST:PORT", help="AMI address (default 127.0.0.1:5038)")
    p.add_argument("--ami-user",
                   help="log AMI call events and allow the AMI transfer modes; secret in $CALLTICKET_AMI_SECRET")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument("--no-warm", action="store_true", help="load speech models on the first call, not at start")
    p.set_defaults(func=run)


def split_hostport(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise SystemExit(f"serve-agi: {option} wants HOST:PORT, got {value!r}")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    from agi import logs
    from agi.catalog_service import CatalogService
    from agi.commands.worker_start import load_config_and_logging, load_playbooks
    from agi.ops_http import Loading
    from agi.pbx.asterisk.calls import playbook_runners, warm_speech
    from agi.pbx.asterisk.worker import AsteriskWorker, WorkerConfig

    config = load_config_and_logging(args)
    if config is None:
        return 1
    ast = config.asterisk
    agi_host, agi_port = split_hostport(args.listen, "--listen") if args.listen else (ast.agi.host, ast.agi.port)
    as_host, as_port = (split_hostport(args.audiosocket, "--audiosocket") if args.audiosocket
                        else (ast.audiosocket.host, ast.audiosocket.port))
    advertise = args.audiosocket_advertise or ast.audiosocket_advertise
    if advertise:
        split_hostport(advertise, "--audiosocket-advertise")
    ami_host, ami_port, ami_user, ami_secret = "127.0.0.1", 5038, None, None
    if ast.ami is not None:
        ami_host, ami_port, ami_user, ami_secret = ast.ami.host, ast.ami.port, ast.ami.user, ast.ami.secret.value()
    if args.ami:
        ami_host, ami_port = split_hostport(args.ami, "--ami")
    if args.ami_user:
        ami_user, ami_secret = args.ami_user, os.environ.get("CALLTICKET_AMI_SECRET")
    if ami_user and ami_secret:
        logs.add_secrets([ami_secret])
    transfer_mode = args.transfer_mode or ast.transfer_mode
    if transfer_mode != "agi" and not ami_user:
        print(f"serve-agi: transfer mode {transfer_mode} needs an AMI user (--ami-user or asterisk.ami)",
              file=sys.stderr)
        return 1
    data_dir = args.data_dir or config.data_dir
    pb = config.playbooks
    catalogs = CatalogService(config, data_dir)
    registry = load_playbooks(catalogs, args, "serve-agi")
    if registry is None:
        return 1
    if not catalogs.start_for("serve-agi"):
        return 1
    if pb.watch:
        registry.start()
    worker_config = WorkerConfig(
        agi_host=agi_host, agi_port=agi_port, audiosocket_host=as_host, audiosocket_port=as_port,
        audiosocket_advertise=advertise, max_calls=args.max_calls or ast.max_calls, transfer_mode=transfer_mode,
        transfer_context=ast.transfer_context, predial=args.predial, ami_host=ami_host, ami_port=ami_port,
        ami_user=ami_user, ami_secret=ami_secret,
    )
    runners = playbook_runners(registry, data_dir, config)
    warm = None if args.no_warm else (lambda: warm_speech(registry, config))
    lifecycle, ops = _operations(config, data_dir)
    speech = Loading("speech models")
    if warm is None:
        speech.done("loaded on the first call (--no-warm)")
    lifecycle.add_check("speech", speech)
    try:
        return asyncio.run(_serve(AsteriskWorker(worker_config, runners, lifecycle), warm, registry=registry,
                                  grace_s=config.shutdown.grace_s, speech=speech))
    finally:
        registry.stop()
        catalogs.stop()
        if ops is not None:
            ops.stop()
        if lifecycle.records is not None:
            lifecycle.records.close()


def _operations(config, data_dir: Path):
    """Call records, and /metrics /healthz /readyz on the config's metrics port."""
    from agi.ops_http import Lifecycle, OpsServer, outbox_check
    from agi.records import CallRecords

    records = CallRecords.from_config(config.model_copy(update={"data_dir": Path(data_dir)}))
    lifecycle = Lifecycle(records=records)
    if records is not None:  # a records database that is down: calls go on, /readyz says so
        lifecycle.add_check("records", records.check)
    password = config.outbox.password.value() if config.outbox.password else None
    lifecycle.add_check("outbox", outbox_check(config.outbox.dsn, data_dir, password))
    ops = None
    if config.metrics.enabled and config.source is not None:  # built-in defaults: no fixed port to take
        ops = OpsServer(config.metrics.listen("serve_agi"), lifecycle).start()
        print(f"serve-agi: metrics and health on {ops.url}", file=sys.stderr, flush=True)
    return lifecycle, ops


async def _serve(worker, warm=None, *, registry=None, grace_s: float = 0.0, speech=None) -> int:
    import logging

    from agi.pbx.asterisk.ami import AmiError

    log = logging.getLogger("callticket.asterisk")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if registry is not None:
        # systemd's ExecReload: re-read Playbooks now (calls in progress keep theirs).
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, registry.reload))
    try:
        await worker.start()
    except (OSError, AmiError) as exc:
        print(f"serve-agi: {exc}", file=sys.stderr)
        await worker.close()
        return 1
    print(f"serve-agi: FastAGI on {worker.config.agi_host}:{worker.agi.port}, "
          f"AudioSocket on {worker.audiosocket_address}", file=sys.stderr, flush=True)
    if warm is not None:
        # in a thread: calls are taken at once, the models load beside them; /readyz waits for them
        def warmed(f: asyncio.Future) -> None:
            error = f.exception()
            if speech is not None:
                speech.done(f"{f.result()}") if error is None else speech.failed(str(error))
            log.info("speech ready", extra={"fields": f.result() if error is None else {"error": str(error)}})

        loop.run_in_executor(None, warm).add_done_callback(warmed)
    await stop.wait()
    lifecycle = getattr(worker, "lifecycle", None)
    if lifecycle is not None and grace_s > 0:
        # Graceful stop: new calls go back to the dialplan, running ones finish.
        lifecycle.accepting = False
        log.info("draining", extra={"fields": {"active_calls": lifecycle.active, "grace_s": grace_s}})
        deadline = loop.time() + grace_s
        while lifecycle.active > 0 and loop.time() < deadline:
            await asyncio.sleep(0.2)
    await worker.close()
    return 0
