"""What a FreeSWITCH call leaves behind: its record (`callticket calls`), the
worker's /metrics and its log lines, from `callticket serve-esl` run with a
worker config as deployed."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fake_fs import BridgeBehaviour, CallerScript, FakeFreeSwitch
from fs_harness import ROOT, ServeEsl, caller_audio

ROUTE = {"callticket_playbook": "pizzeria"}
PERSON = ["Two large pepperoni pizzas please.", "let me talk to a person"]


class OpsWorker(ServeEsl):
    """serve-esl with a worker config: call records and /metrics on a port of its own."""

    def __init__(self, workdir: Path, playbooks: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "callticket.yaml"
        self.config.write_text(f"data_dir: {workdir / 'data'}\nplaybooks:\n  dir: {playbooks}\n"
                               "metrics:\n  ports: {serve_esl: 0}\n")
        super().__init__(workdir, playbooks, "--config", str(self.config))
        self.metrics_url = ""

    def start(self, timeout: float = 120) -> OpsWorker:
        super().start(timeout)
        end = time.monotonic() + 30
        while time.monotonic() < end and not self.metrics_url:
            m = re.search(r"metrics and health on (http://\S+)", self.log_text())
            self.metrics_url = m.group(1) if m else ""
            time.sleep(0.1)
        assert self.metrics_url, self.log_text()[-2000:]
        return self

    def metric(self, name: str, **labels: str) -> float:
        text = urllib.request.urlopen(f"{self.metrics_url}/metrics", timeout=5).read().decode()
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            series, _, value = line.rpartition(" ")
            if series == (f"{name}{{{wanted}}}" if labels else name):
                return float(value)
        raise AssertionError(f"no {name} {labels} in /metrics")

    def calls(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "agi.cli", "calls", *args, "--config", str(self.config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def worker(fs_playbooks, tmp_path_factory):
    w = OpsWorker(tmp_path_factory.mktemp("serve-esl-ops"), fs_playbooks).start()
    yield w
    w.stop()


def call_asking_for_a_person(worker: OpsWorker, bridge: BridgeBehaviour, caller: str) -> FakeFreeSwitch:
    fs = FakeFreeSwitch(worker.address, caller=caller, variables=ROUTE, bridge=bridge,
                        script=CallerScript(turns=caller_audio(PERSON, offset=2)))
    fs.run(timeout=120)
    assert fs.errors == []
    worker.wait_for("call ended", 1)
    return fs


def logged(worker: OpsWorker, msg: str, fs: FakeFreeSwitch) -> dict:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        found = [r for r in worker.records(msg) if r.get("call_id") == fs.uuid and r.get("logger") != "callticket.ops"]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no {msg!r} for {fs.uuid}:\n{worker.log_text()[-3000:]}")


def test_a_transfer_nobody_takes_is_not_a_success_anywhere(worker):
    """Every dial failed (no phone registered as user/100 or user/101, as on a
    stock FreeSWITCH) and the voicemail took the caller: the record, the
    metrics and the log lines say so, with the cause."""
    failed_before = worker.metric("callticket_calls_total", pbx="freeswitch", outcome="transfer_failed")
    taken_before = worker.metric("callticket_calls_total", pbx="freeswitch", outcome="transferred")
    fs = call_asking_for_a_person(worker, BridgeBehaviour(causes={"user/100": "USER_NOT_REGISTERED",
                                                                  "user/101": "USER_NOT_REGISTERED"}), "+15550001111")
    assert fs.bridged_to == ["user/100", "user/101"] and any(app == "voicemail" for app, _ in fs.apps)
    bridge = {"result": "failed", "answered_by": None, "cause": "USER_NOT_REGISTERED, then USER_NOT_REGISTERED",
              "voicemail": True}
    result = logged(worker, "call result", fs)
    assert result["outcome"] == "transfer_failed", result
    assert result["transfer"] == {"reason": "caller asked for a person", "target": "front-counter", **bridge}
    assert logged(worker, "call ended", fs)["status"] == "TRANSFER_FAILED"
    assert worker.metric("callticket_calls_total", pbx="freeswitch", outcome="transfer_failed") == failed_before + 1
    assert worker.metric("callticket_calls_total", pbx="freeswitch", outcome="transferred") == taken_before
    listed = [line for line in worker.calls().splitlines() if fs.uuid in line]
    assert listed and " transfer_failed " in listed[0]
    shown = worker.calls("show", fs.uuid)
    assert "outcome   transfer_failed" in shown
    assert "failed (USER_NOT_REGISTERED, then USER_NOT_REGISTERED); the voicemail took the call" in shown


def test_an_answered_call_shows_who_took_it_its_language_and_its_speech_times(worker):
    fs = call_asking_for_a_person(worker, BridgeBehaviour(answer={"user/100"}), "+15550002222")
    result = logged(worker, "call result", fs)
    assert result["outcome"] == "transferred"
    assert result["transfer"]["result"] == "answered" and result["transfer"]["answered_by"] == "user/100"
    shown = worker.calls("show", fs.uuid)
    assert "outcome   transferred" in shown and "answered by user/100" in shown


def test_the_speech_metrics_and_the_record_of_an_english_call(worker):
    decoded_before = worker.metric("callticket_stt_seconds_count")
    waited_before = worker.metric("callticket_stt_queue_seconds_count")
    fs = FakeFreeSwitch(worker.address, caller="+15550003333", variables=ROUTE,
                        script=CallerScript(turns=caller_audio(PERSON[:1], offset=1)))
    fs.run(timeout=120)
    assert logged(worker, "call result", fs)["heard"]
    # each utterance the recogniser took: how long it waited for a decoder, how long it took
    assert worker.metric("callticket_stt_seconds_count") > decoded_before
    assert worker.metric("callticket_stt_queue_seconds_count") > waited_before
    assert worker.metric("callticket_stt_seconds_sum") > 0
    shown = worker.calls("show", fs.uuid)
    assert re.search(r"language en\b", shown), shown  # the call's language, not "-"
