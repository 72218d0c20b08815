"""The outbound Event Socket port of the FreeSWITCH worker, attacked on loopback while calls come in.

The worker runs in its own gevent process (tests/adversarial/esl_worker.py);
the test plays FreeSWITCH for the good calls (tests/freeswitch/fake_fs.py)
and a stranger for the bad ones. Until a connection has answered `connect`
with the channel's data it is a stranger: a small budget of sockets, a short
deadline, small messages.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from attack import ROOT, PeakRss, closed_by_peer

sys.path.insert(0, str(ROOT / "tests" / "freeswitch"))
from fake_fs import FakeFreeSwitch  # noqa: E402

HERE = Path(__file__).parent


class Worker:
    def __init__(self, log: Path, max_calls: int = 4):
        low = 30000 + (os.getpid() * 13) % 20000
        self.log = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "esl_worker.py"), str(max_calls), str(low)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("port "), line
        self.address = ("127.0.0.1", int(line.split()[1]))
        self.log_path = log

    def good_call(self) -> float:
        """One whole call (echo route): connect, answer, unicast, the caller hangs up; its duration."""
        started = time.monotonic()
        fs = FakeFreeSwitch(self.address, variables={"callticket_playbook": "callticket-echo"},
                            caller_hangup_at_s=0.5).run(timeout=20)
        assert fs.errors == [] and fs.answered and fs.closed_by_app.is_set(), (fs.errors, self.log_path.read_text()[-2000:])
        return time.monotonic() - started

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture
def worker(tmp_path):
    w = Worker(tmp_path / "esl.log")
    yield w
    w.stop()


def _stranger(address, payload: bytes, eof: bool = True) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    try:
        s.sendall(payload)
        if eof:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return s


GARBAGE = {
    "early EOF": b"",
    "partial header": b"Content-Type: command/reply\nReply-Te",
    "binary": bytes(range(256)) * 64,
    "over-long header": b"Content-Type: command/reply\nX: " + b"a" * 400_000,
    "no Content-Type": b"Reply-Text: +OK\n\n",
    "bad Content-Length": b"Content-Type: text/event-plain\nContent-Length: -5\n\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_before_the_channel_data_closes_one_connection(worker, name):
    s = _stranger(worker.address, GARBAGE[name])
    assert closed_by_peer(s, 5.0)
    s.close()
    assert worker.good_call() < 10.0


def test_big_bodies_from_strangers_are_not_buffered(worker):
    body = b"x" * (15 * 2**20)
    with PeakRss(worker.proc.pid) as mem:
        socks = []
        for _ in range(10):
            s = socket.create_connection(worker.address, timeout=10)
            socks.append(s)

        def send(s: socket.socket) -> None:
            try:
                s.sendall(b"Content-Type: command/reply\nContent-Length: %d\n\n" % len(body) + body)
            except OSError:
                pass  # closed by the worker mid-body: the point

        senders = [threading.Thread(target=send, args=(s,)) for s in socks]
        for t in senders:
            t.start()
        for t in senders:
            t.join(30)
    for s in socks:
        s.close()
    assert mem.growth < 30, f"the worker grew {mem.growth:.0f} MB"
    assert worker.good_call() < 10.0


def test_idle_and_dripping_strangers_beyond_the_caps_leave_room_for_calls(worker):
    strangers = [socket.create_connection(worker.address, timeout=10) for _ in range(200)]
    stop = threading.Event()

    def drip(s: socket.socket) -> None:
        for byte in b"Content-Type: command/reply\nReply-Text: +OK\n" * 10:
            if stop.wait(0.5):
                return
            try:
                s.send(bytes([byte]))
            except OSError:
                return

    drippers = [threading.Thread(target=drip, args=(s,), daemon=True) for s in strangers[::2]]
    for t in drippers:
        t.start()
    try:
        time.sleep(0.5)
        with PeakRss(worker.proc.pid) as mem:
            for _ in range(3):
                assert worker.good_call() < 10.0  # while the 200 are open
        assert mem.growth < 30
        log = worker.log_path.read_text()
        assert '"msg": "connection refused"' in log and '"listener": "esl"' in log
    finally:
        stop.set()
        for s in strangers:
            s.close()
