"""Blocking work (speech-to-text, speech synthesis, POS commits) off the gevent hub.

The FreeSWITCH worker does not monkey-patch: the recogniser, the TTS engines
and the POS clients run in ordinary OS threads (`ThreadPoolExecutor`), and a
greenlet that needs a result waits for it cooperatively, so the hub keeps
pacing every other call's audio meanwhile.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import gevent
import gevent.event

T = TypeVar("T")


def wait_future(future: Future[T], timeout: float | None = None) -> T:
    """The future's result, yielding to other greenlets until it is ready.

    Raises gevent.Timeout when `timeout` passes first (the work goes on).
    """
    if not future.done():
        hub = gevent.get_hub()
        watcher = hub.loop.async_()  # the one hub primitive a foreign thread may poke
        ready = gevent.event.Event()
        watcher.start(ready.set)
        open_ = [True]
        lock = threading.Lock()

        def poke(_: Future) -> None:
            with lock:
                if open_[0]:  # the waiter may have given up (timeout, killed)
                    watcher.send()

        try:
            future.add_done_callback(poke)
            if not ready.wait(timeout) and not future.done():
                raise gevent.Timeout(timeout)
        finally:
            with lock:
                open_[0] = False
                watcher.close()
    return future.result()


def run_in_thread(executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    return wait_future(executor.submit(fn, *args), timeout)


def spawn(fn: Callable[..., Any], *args: Any) -> gevent.Greenlet:
    """`gevent.spawn` in a copy of the caller's context: the call id tags its log lines too."""
    return gevent.spawn(contextvars.copy_context().run, fn, *args)
