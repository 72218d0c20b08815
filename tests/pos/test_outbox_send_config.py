"""`callticket outbox send` (the `callticket-outbox` unit) delivers a vendor order as deployed.

The set-up follows docs/operations.md: the Playbook bound to Square, its
credential under `pos.credentials.<Playbook file stem>` in the worker config
(here in a file, so the sender's environment holds no Square token at all),
the sandbox under `pos.base_urls`. A call commits while Square refuses orders,
so the ticket waits in the outbox; then the sender, a real process started as
the unit starts it, delivers it, and is killed between Square creating the
order and the sender hearing of it. The restarted sender delivers it again
under the same idempotency key: Square has exactly one order.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pos_fakes import square as S
from square_worker import NAME, ROOT, square, square_playbook  # noqa: F401 (fixture)

from agi.catalog_sync import CatalogStore
from agi.config import load_config
from agi.outbox import Outbox
from agi.pos_binding import committer_for
from agi.simulate import Script, TextCall
from agi.vendor_catalogs import VendorCatalogs

TURNS = ["two large pepperoni pizzas for pickup please", "that's all", "Maria", "yes", "yes"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, square_url: str, metrics_port: int) -> Path:
    token = tmp_path / "square.token"
    token.write_text(S.TOKEN + "\n")
    path = tmp_path / "callticket.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"playbooks: {{dir: {tmp_path / 'playbooks'}}}\n"
        "pos:\n"
        f"  credentials: {{{NAME}: {{access_token: {{file: {token}}}}}}}\n"
        f"  base_urls: {{square: '{square_url}'}}\n"
        f"metrics: {{ports: {{serve_agi: {_free_port()}, serve_esl: {_free_port()}, outbox: {metrics_port}}}}}\n"
    )
    return path


def _sender(cfg: Path, log: Path) -> subprocess.Popen:
    """The unit's command line, with the unit's environment: the config's path and nothing of Square."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUARE_", "CT_TEST_", "CALLTICKET_"))}
    env.update(CALLTICKET_CONFIG=str(cfg), PYTHONUNBUFFERED="1")
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "agi.cli", "outbox", "send"], cwd=ROOT, env=env,
                                stdout=sink, stderr=subprocess.STDOUT)


def _until(predicate, proc: subprocess.Popen, log: Path, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} (sender exit {proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


def test_the_sender_delivers_with_the_worker_config_alone_and_a_kill_mid_post_makes_one_order(tmp_path, square):
    square_playbook(tmp_path / "playbooks")
    metrics_port = _free_port()
    cfg = _config(tmp_path, square.url, metrics_port)
    config = load_config(cfg)

    # A call on the worker's own load and commit path, while Square refuses orders: the ticket is queued.
    square.fail("500", times=100_000, method="POST", path="/v2/orders")
    loaded = VendorCatalogs(CatalogStore(), config.data_dir, config).load(tmp_path / "playbooks" / f"{NAME}.yaml")
    (tmp_path / "data").mkdir()
    call = TextCall(loaded, Script.model_validate({"caller": {"number": "+15551234567", "language": "en"},
                                                   "at": "2026-11-20T17:30:00"}),
                    committer_for(loaded, config.data_dir, config))
    for turn in TURNS:
        call.say(turn)
    result = call.result()
    assert result["outcome"] == "committed" and result["pos"]["order_id"] is None, result["turns"][-1]
    key = result["pos"]["idempotency_key"]
    outbox = Outbox(config.data_dir / "outbox.sqlite3")
    assert outbox.get(key).state == "pending" and square.orders == {}

    # Square is back, but its answer to the order will not come: the order is made, the sender never hears.
    with square.lock:
        square.faults.clear()
    square.fail("timeout", method="POST", path="/v2/orders", after=True, delay=120)
    refused = len(square.calls("POST", "/v2/orders"))
    log = tmp_path / "outbox-send.log"
    first = _sender(cfg, log)
    try:
        _until(lambda: len(square.orders) == 1, first, log, "the sender never reached Square")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert outbox.get(key).state == "pending"

    second = _sender(cfg, log)
    try:
        _until(lambda: outbox.get(key).state == "delivered", second, log, "the restarted sender did not deliver")
        # the unit's ops port: the alerts of docs/operations.md read it
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "callticket_outbox_pending 0.0" in text and "callticket_outbox_dead_letter 0.0" in text, text
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)

    (order_id,) = square.orders
    assert outbox.receipt(key).order_id == order_id
    posts = square.calls("POST", "/v2/orders")[refused:]
    assert len(posts) == 2 and {p.json()["idempotency_key"] for p in posts} == {key}
    assert square.violations == []
    text = log.read_text(errors="replace")
    assert S.TOKEN not in text and "SQUARE_ACCESS_TOKEN" not in text
