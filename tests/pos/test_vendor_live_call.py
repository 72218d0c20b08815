"""`callticket serve-esl` serving a Square Playbook, as deployed: its own process, its
config file, the fake Square (official OpenAPI spec) as the POS, the test playing
FreeSWITCH (tests/freeswitch/fake_fs.py) and a synthetic caller's voice over unicast.

Square is down when the worker starts: the Playbook is refused with a clear
line and comes up by itself once Square answers. Then, while a call is in
progress, Square's signed webhook marks the soda sold out at the worker's own
webhook endpoint, and the caller who asks for a soda on the next turn hears it
is not available.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from square_worker import ENV, NAME, out_of_stock, signed, square, square_playbook, worker_config  # noqa: F401 (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "freeswitch"))

from fake_fs import CallerScript, FakeFreeSwitch  # noqa: E402
from fs_harness import ServeEsl, caller_audio  # noqa: E402

TURNS = ["A large pepperoni pizza, please.", "And a soda, please."]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(predicate, timeout: float, what: str, worker: ServeEsl) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}:\n{worker.log_text()[-4000:]}")


def test_serve_esl_serves_a_square_playbook_and_its_webhooks(tmp_path, square, monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    playbooks = tmp_path / "playbooks"
    square_playbook(playbooks, open_all_day=True)
    metrics_port = _free_port()
    cfg = worker_config(tmp_path / "callticket.yaml", playbooks, tmp_path / "data", square.url, poll_s=0.5, extra=(
        "stt: {model: auto, threads: 1}\n"
        f"metrics: {{ports: {{serve_agi: {_free_port()}, serve_esl: {metrics_port}, outbox: {_free_port()}}}}}\n"
        "shutdown: {grace_s: 5}\n"))
    square.fail("500", times=100_000, path="/v2/catalog/list")  # Square is down
    worker = ServeEsl(tmp_path / "serve-esl", playbooks, "--config", str(cfg), "--log-level", "debug").start()
    try:
        # (d) The worker starts; the Playbook is refused with the reason, and waits for Square.
        log = worker.log_text()
        assert f"{playbooks / NAME}.yaml:0: pos: cannot fetch catalog from square: HTTP 500" in log
        assert f"serve-esl: waiting for the POS catalog of {NAME}" in log
        hooks = re.search(r"POS webhooks on (http://127\.0\.0\.1:\d+)/webhooks/<location>", log)
        assert hooks, log
        hook = f"{hooks.group(1)}/webhooks/{NAME}"
        with square.lock:
            square.faults.clear()  # Square is back: the next watch pass loads the Playbook
        _until(lambda: any(r.get("playbook") == NAME for r in worker.records("playbook loaded")), 20,
               "the Playbook did not come up once Square answered", worker)
        age = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert f'callticket_catalog_age_seconds{{location="{NAME}/main"}}' in age

        # A call: the caller orders a pizza; while the bot answers, Square says the soda sold out.
        body = out_of_stock("SODA-R")
        fs = FakeFreeSwitch(worker.address, caller="+15551234567", variables={"callticket_playbook": NAME},
                            script=CallerScript(turns=caller_audio(TURNS)))
        call = threading.Thread(target=fs.run, kwargs={"timeout": 180}, daemon=True)
        call.start()
        _until(lambda: fs.caller_turns_spoken >= 1 or not call.is_alive(), 120, "the caller never spoke", worker)
        # (c) Not signed by Square: 401, nothing changes.
        assert httpx.post(hook, content=body, timeout=5).status_code == 401
        assert httpx.post(hook, content=body, headers=signed(body, key="guessed"), timeout=5).status_code == 401
        # (b) Signed: applied before the answer.
        answer = httpx.post(hook, content=body, headers=signed(body), timeout=5)
        assert answer.status_code == 200 and answer.json()["applied"], answer.text
        call.join(180)
        assert not call.is_alive() and fs.errors == []

        (result,) = [r for r in worker.wait_for("call result", 1, timeout=30) if r.get("call_id") == fs.uuid]
        bot = result["bot"]
        heard = " ".join(result["heard"]).lower()
        assert "pepperoni" in heard and "soda" in heard, result
        assert any("1 Large Pepperoni Pizza" in line for line in bot), bot
        # the turn right after the webhook: the soda is refused
        assert any(line.startswith("Sorry, Soda is not available today.") for line in bot), bot
        rejected = [r for r in worker.records("webhook rejected") if r.get("location") == NAME]
        assert len(rejected) == 2
    finally:
        code = worker.stop()  # SIGTERM: calls drain, webhooks and catalog refresh stop
    assert code == 0, worker.log_text()[-3000:]


def test_serve_agi_loads_a_square_playbook_once_square_answers_and_takes_its_webhooks(tmp_path, square):
    import os
    import signal
    import subprocess

    playbooks = tmp_path / "playbooks"
    square_playbook(playbooks)
    metrics_port = _free_port()
    cfg = worker_config(tmp_path / "callticket.yaml", playbooks, tmp_path / "data", square.url, poll_s=0.5, extra=(
        f"asterisk: {{agi: {{host: 127.0.0.1, port: {_free_port()}}}, "
        f"audiosocket: {{host: 127.0.0.1, port: {_free_port()}}}}}\n"
        f"metrics: {{ports: {{serve_agi: {metrics_port}, serve_esl: {_free_port()}, outbox: {_free_port()}}}}}\n"
        "shutdown: {grace_s: 5}\n"))
    square.fail("500", times=100_000, path="/v2/catalog/list")
    out = tmp_path / "serve-agi.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "agi.cli", "serve-agi", "--config", str(cfg), "--no-warm"],
                                cwd=Path(__file__).resolve().parents[2], stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, **ENV, "PYTHONUNBUFFERED": "1"})
    text = lambda: out.read_text(errors="replace")  # noqa: E731
    try:
        deadline = time.monotonic() + 60
        while "FastAGI on" not in text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        log = text()
        assert "FastAGI on" in log, log
        assert f"{playbooks / NAME}.yaml:0: pos: cannot fetch catalog from square: HTTP 500" in log
        hooks = re.search(r"POS webhooks on (http://127\.0\.0\.1:\d+)/webhooks/<location>", log)
        assert hooks, log
        hook = f"{hooks.group(1)}/webhooks/{NAME}"
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        assert f'location="{NAME}/main"' not in httpx.get(metrics, timeout=5).text
        with square.lock:
            square.faults.clear()
        deadline = time.monotonic() + 20
        while f'location="{NAME}/main"' not in httpx.get(metrics, timeout=5).text:
            assert time.monotonic() < deadline, text()
            time.sleep(0.2)
        body = out_of_stock("SODA-R")
        assert httpx.post(hook, content=body, headers=signed(body, key="guessed"), timeout=5).status_code == 401
        answer = httpx.post(hook, content=body, headers=signed(body), timeout=5)
        assert answer.status_code == 200 and answer.json()["applied"]
        proc.send_signal(signal.SIGHUP)  # a reload keeps the Playbook and its catalog
        time.sleep(1.0)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
