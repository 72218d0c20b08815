"""Fixtures: the worker process (shared by the call tests) and its Playbooks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fs_harness import ServeEsl, freeswitch_playbook


@pytest.fixture(scope="session")
def fs_playbooks(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fs-playbooks")
    freeswitch_playbook(directory, "pizzeria")
    return directory


@pytest.fixture(scope="session")
def serve_esl(fs_playbooks, tmp_path_factory):
    worker = ServeEsl(tmp_path_factory.mktemp("serve-esl"), fs_playbooks, "--log-level", "debug").start()
    yield worker
    worker.stop()
