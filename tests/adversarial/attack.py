"""Helpers of the adversarial suite: memory of a process, closed sockets, free ports."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), in MB."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """The highest resident memory of a process while the block runs (sampled every 10 ms)."""

    def __init__(self, pid: int | None = None):
        self.pid = pid
        self.before = 0.0
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self.before = self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))

    @property
    def growth(self) -> float:
        return self.peak - self.before

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb(self.pid))


def closed_by_peer(sock: socket.socket, within_s: float) -> bool:
    """Whether the other side closed `sock` (EOF or reset) within `within_s`, reading whatever it sent."""
    sock.settimeout(0.2)
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
