"""`callticket serve-esl` as its own process, Playbooks for it, and the caller's voice.

The worker runs exactly as in production (its own gevent process); the test
process plays FreeSWITCH (fake_fs.py) over real TCP and UDP on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

# Transfer targets as a FreeSWITCH deployment writes them.
FS_TARGETS = [
    {"id": "front-counter", "dial": "user/100", "fallback": "user/101", "voicemail": "100@default"},
    {"id": "manager", "dial": "user/102", "voicemail": "102@default"},
]


def freeswitch_playbook(directory: Path, name: str = "pizzeria", languages: list[str] | None = None) -> Path:
    """A copy of a bundled Playbook, open around the clock, with FreeSWITCH dial strings."""
    yaml = YAML()
    src = ROOT / "playbooks" / f"{name}.yaml"
    data = yaml.load(src.read_text())
    data["business"]["hours"] = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    if languages:
        data["business"]["languages"] = languages
    data["escalation"]["targets"] = FS_TARGETS
    data["escalation"]["default_target"] = "front-counter"
    if data["escalation"].get("vip_target"):
        data["escalation"]["vip_target"] = "manager"
    for key in ("urgent_target", "out_of_scope_target"):
        data["escalation"].pop(key, None)
    directory.mkdir(parents=True, exist_ok=True)
    catalog = data["pos"]["catalog"]
    (directory / Path(catalog).parent).mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "playbooks" / catalog, directory / catalog)
    out = directory / f"{name}.yaml"
    with out.open("w") as fh:
        yaml.dump(data, fh)
    return out


class ServeEsl:
    """The worker process; `address` is its outbound Event Socket."""

    def __init__(self, workdir: Path, playbooks: Path, *extra: str):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "serve-esl.log"
        base = 20000 + (os.getpid() * 7) % 20000
        self.media_ports = (base, base + 199)
        self.cmd = [sys.executable, "-m", "agi.cli", "serve-esl", "--listen", "127.0.0.1:0",
                    "--playbooks", str(playbooks), "--data-dir", str(self.data_dir),
                    "--media-ports", f"{self.media_ports[0]}-{self.media_ports[1]}", *extra]
        self.proc: subprocess.Popen[bytes] | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    def start(self, timeout: float = 120) -> ServeEsl:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (open for the process lifetime)
        env = {**os.environ, "CALLTICKET_CONFIG": ""}
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(rb"outbound Event Socket on 127\.0\.0\.1:(\d+)", self.log_path.read_bytes())
            if m:
                self.address = ("127.0.0.1", int(m.group(1)))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve-esl did not start:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def records(self, msg: str) -> list[dict]:
        return [r for r in self.log_lines() if r.get("msg") == msg]

    def wait_for(self, msg: str, count: int, timeout: float = 30.0) -> list[dict]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.records(msg)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{count} x {msg!r} not logged:\n{self.log_text()[-4000:]}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode




# The caller of the spoken-order tests and of `callticket bench freeswitch`.
PIZZA_ORDER = ["Two large pepperoni pizzas please.", "No thank you.", "No.", "Pick up, please.", "My name is Maria.",
               "Yes, that's the best number.", "Yes, please place it."]


def caller_audio(lines: list[str], offset: int = 0) -> list[bytes]:
    """Each line spoken by a synthetic caller (espeak-ng / flite voices, rotating),
    through an A-law phone line, as FreeSWITCH's unicast would carry it (L16, 8 kHz)."""
    from agi.media.g711 import through_line
    from agi.simulate_audio import CALLER_VOICES
    from agi.speech.tts import Speaker

    # piper's neural voice renders a line differently each time, so a call
    # heard right once could be heard wrong the next time ("Pick up, please"
    # -> "Echo, please"): these scripted callers cannot say it again.
    voices = [v for v in CALLER_VOICES if v.engine != "piper"]
    speaker = Speaker(8000)
    out = []
    for i, line in enumerate(lines):
        voice = voices[(offset + i) % len(voices)]
        out.append(through_line(speaker.render(line, voice, voice.language), "alaw"))
    return out


def local_pos_orders(data_dir: Path, playbook: Path) -> list[dict]:
    """Orders in the embedded POS: {"order_id", "status", **ticket.to_public()}."""
    from adapters.local import LocalPos
    from agi.playbook import load_playbook
    from agi.pos_binding import local_catalog_path

    pos = LocalPos(data_dir, local_catalog_path(load_playbook(playbook)))
    try:
        return [{"order_id": o.order_id, "status": o.status, **o.ticket.to_public()}
                for o in pos.orders(all_locations=True)]
    finally:
        pos.close()
