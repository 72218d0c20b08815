"""A vendor that echoes the credentials back: no output path of ours repeats them.

Some POS APIs answer a bad request with the request's own headers in the
body. Whatever reaches a person (the JSON log, the plain lines `check-config`
and the workers print, a traceback, uvicorn's own lines) must show `***`
where the token was, including a token read from the vendor's own variable
(SQUARE_ACCESS_TOKEN) rather than from the worker config.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from attack import ROOT, free_port

sys.path.insert(0, str(ROOT / "tests" / "pos"))
from square_worker import square_playbook  # noqa: E402

TOKEN = "EAAAl-vendor-token-0123456789abcdef"
HOOK_KEY = "hook-key-0123456789abcdef"


class Echo(BaseHTTPRequestHandler):
    """A POS that answers 401 with what it was sent."""

    def do_GET(self) -> None:  # noqa: N802
        auth = self.headers.get("Authorization", "")
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "detail": f"bad credentials; you sent {auth}",
                                       "token": auth.split()[-1] if auth else ""}]}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET
    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def setup(tmp_path):
    pos = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=pos.serve_forever, daemon=True).start()
    playbooks = tmp_path / "playbooks"
    square_playbook(playbooks)
    hooks = free_port()
    config = tmp_path / "callticket.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"playbooks: {{dir: {playbooks}, watch: false}}\n"
        f"pos: {{base_urls: {{square: 'http://127.0.0.1:{pos.server_port}'}}}}\n"  # no credentials here: the env
        f"asterisk: {{agi: {{port: {free_port()}}}, audiosocket: {{port: {free_port()}}}}}\n"
        f"metrics: {{ports: {{serve_agi: {free_port()}, serve_esl: {free_port()}, outbox: {free_port()}}}}}\n"
        f"webhooks: {{enabled: true, listen: {{port: {hooks}}}, public_url: 'https://x.test/hooks',"
        " signing_keys: {square: {env: SQUARE_WEBHOOK_SIGNATURE_KEY}}}\n")
    env = {**os.environ, "SQUARE_ACCESS_TOKEN": TOKEN, "SQUARE_WEBHOOK_SIGNATURE_KEY": HOOK_KEY,
           "CALLTICKET_CONFIG": "", "PYTHONUNBUFFERED": "1"}
    yield config, env, hooks
    pos.shutdown()


def test_check_config_never_prints_the_token_the_vendor_echoes(setup):
    config, env, _ = setup
    result = subprocess.run([sys.executable, "-m", "agi.cli", "check-config", "--config", str(config)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    out = result.stdout + result.stderr
    assert "401" in out, out[-3000:]  # the vendor's refusal is reported...
    assert TOKEN not in out  # ...without the token it echoed


def test_the_worker_never_prints_the_token_and_uvicorn_lines_are_json(setup):
    config, env, hooks = setup
    proc = subprocess.Popen([sys.executable, "-m", "agi.cli", "serve-agi", "--config", str(config), "--no-warm"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("FastAGI on" in line for line in seen):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
        assert any("cannot fetch catalog from square" in line for line in seen), "".join(seen)[-3000:]
        with socket.create_connection(("127.0.0.1", hooks)) as s:  # not HTTP: uvicorn says so in its own line
            s.sendall(b"\x16\x03\x01 not http " + TOKEN.encode() + b"\r\n\r\n")
            s.recv(100)
        time.sleep(0.5)
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
        seen.append(rest)
    out = "".join(seen)
    assert TOKEN not in out
    uvicorn = [line for line in out.splitlines() if "Invalid HTTP request" in line]
    assert uvicorn and all(json.loads(line)["logger"].startswith("uvicorn") for line in uvicorn), out[-3000:]


def test_a_traceback_never_prints_the_token(setup):
    _, env, _ = setup
    code = ("import os, agi.cli as cli, agi.commands.validate as v\n"
            "def boom(args): raise RuntimeError('POS said: ' + os.environ['SQUARE_ACCESS_TOKEN'])\n"
            "v.run = boom\n"
            "raise SystemExit(cli.main(['validate', 'x.yaml']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "RuntimeError: POS said: ***" in result.stderr, result.stderr[-2000:]
    assert TOKEN not in result.stderr + result.stdout
