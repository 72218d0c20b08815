"""Fixtures for the Asterisk tests: a real Asterisk (chroot), the worker, sipp phones."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pbx_harness as h  # noqa: E402


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[h.Asterisk]:
    """One Asterisk for the whole run. A chroot that cannot be built fails the tests loudly."""
    if not h.have_sipp():
        pytest.fail("sipp is not installed (apt-get install sip-tester)")
    ast = h.Asterisk(f"pytest-{h.free_port()}", tmp_path_factory.mktemp("asterisk"))
    try:
        ast.start()
    except RuntimeError as exc:
        pytest.fail(f"cannot start the real Asterisk: {exc}")
    yield ast
    ast.stop()


@pytest.fixture(scope="session")
def serve_agi(asterisk: h.Asterisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[h.ServeAgi]:
    """`callticket serve-agi` in its own process, on the test Asterisk's ports."""
    worker = h.ServeAgi(asterisk, tmp_path_factory.mktemp("serve-agi"), "--predial", "callticket-predial^s^1",
                        "--playbooks", str(h.PLAYBOOKS), "--log-level", "debug")
    try:
        worker.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield worker
    worker.stop()


class LoopThread:
    """An asyncio loop in a thread, for running the worker beside blocking test code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def start_worker(asterisk: h.Asterisk, loop_thread: LoopThread) -> Iterator[Callable[..., Any]]:
    """start_worker(runners, lifecycle=None, **config) -> a running AsteriskWorker on the test Asterisk's ports."""
    from agi.pbx.asterisk.worker import AsteriskWorker, WorkerConfig

    started: list[Any] = []

    def start(runners: Callable[[str], Any], lifecycle: Any = None, **overrides: Any) -> Any:
        cfg = WorkerConfig(agi_port=asterisk.ports.agi, audiosocket_port=asterisk.ports.audiosocket,
                           ami_port=asterisk.ports.ami, **overrides)
        worker = AsteriskWorker(cfg, runners, lifecycle)
        loop_thread.run(worker.start())
        started.append(worker)
        return worker

    yield start
    for w in started:
        loop_thread.run(w.close())


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
