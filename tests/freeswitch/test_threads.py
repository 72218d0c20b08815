"""Speech work runs in OS threads: a greenlet waiting for it never stops the hub."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import gevent
import pytest

from agi.pbx.freeswitch.driver import GreenSpeech
from agi.pbx.freeswitch.threads import run_in_thread, wait_future


def ticker(ticks: list[float], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)


def test_a_slow_recognition_does_not_freeze_other_calls(monkeypatch):
    speech = GreenSpeech()
    calls: list[tuple] = []

    def slow_transcribe(requests, busy=False):
        calls.extend((len(r.pcm), r.sample_rate, r.language, r.hints, r.languages) for r in requests)
        time.sleep(0.6)  # what a busy decoder does to its thread: blocks it
        return ["recognised"] * len(requests)

    # One shared pool for every call, whatever its rate, as on Asterisk.
    assert speech.stt is speech.services(16000).stt is speech.services(8000).stt
    monkeypatch.setattr(speech.recognizer, "transcribe_many", slow_transcribe)
    ticks: list[float] = []
    other_call = gevent.spawn(ticker, ticks, 0.5)
    started = time.monotonic()
    result = speech.transcribe(b"\0" * 3200, 8000, "en", ("pizza",), ("en",))
    other_call.join()
    assert result == "recognised"
    assert calls == [(3200, 8000, "en", ("pizza",), ("en",))]
    assert time.monotonic() - started >= 0.6
    # the other greenlet kept its 10 ms rhythm the whole time
    assert len(ticks) >= 30
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.2


def test_waiting_gives_up_on_timeout_and_the_work_goes_on():
    pool = ThreadPoolExecutor(1)
    future = pool.submit(time.sleep, 0.3)
    with pytest.raises(gevent.Timeout):
        wait_future(future, timeout=0.05)
    assert wait_future(future) is None
    assert run_in_thread(pool, lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        run_in_thread(pool, lambda: 1 / 0)
