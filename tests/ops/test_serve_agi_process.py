"""The Asterisk worker as systemd runs it: config file, health and metrics
endpoints, SIGHUP reload, SIGTERM stop (no calls: the drain ends at once)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(proc: subprocess.Popen, text: str, timeout_s: float = 60.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"no {text!r} from serve-agi:\n{seen}")


def test_serve_agi_answers_health_reloads_and_stops(tmp_path: Path):
    metrics_port = _free_port()
    config = tmp_path / "callticket.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        f"playbooks: {{dir: {ROOT / 'playbooks'}, watch: false}}\n"
        f"asterisk: {{agi: {{host: 127.0.0.1, port: {_free_port()}}}, "
        f"audiosocket: {{host: 127.0.0.1, port: {_free_port()}}}}}\n"
        f"metrics: {{ports: {{serve_agi: {metrics_port}, serve_esl: {_free_port()}, outbox: {_free_port()}}}}}\n"
        "shutdown: {grace_s: 5}\n"
    )
    proc = subprocess.Popen([sys.executable, "-m", "agi.cli", "serve-agi", "--config", str(config), "--no-warm"],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_for(proc, "FastAGI on")
        base = f"http://127.0.0.1:{metrics_port}"
        assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert "callticket_active_calls" in httpx.get(f"{base}/metrics", timeout=5).text
        proc.send_signal(signal.SIGHUP)  # reload the Playbooks: the worker keeps running
        time.sleep(1.0)
        assert proc.poll() is None
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
