"""Shared fixtures: paths to the bundled Playbooks and a scratch data dir."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from agi import events as ev
from agi.call import CallController
from agi.playbook import LoadedPlaybook

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ROOT / "playbooks"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def playbooks_dir() -> Path:
    return PLAYBOOKS


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


class DoubtsEveryReading(CallController):
    """The real call core, except that it wants a second opinion on every
    reading (as it does on one it cannot make sense of)."""

    def wants_second_opinion(self, event: ev.Transcript) -> bool:
        return bool(event.text)


@pytest.fixture
def doubting_call_core() -> Callable[[LoadedPlaybook], CallController]:
    """A call core that asks the second model about every utterance, for a Playbook
    answering in English only: every first reading is then tiny.en's (a
    caller's first words in a call of several languages are the multilingual model's).

    The turn ends after 2 s of silence, not 600 ms: the early guess, read at
    the caller's 250 ms pause, then always comes back before the turn ends,
    even on a machine busy with other work (a test asserts what happens then)."""

    def make(loaded: LoadedPlaybook) -> CallController:
        pb = loaded.playbook
        english = pb.model_copy(update={
            "business": pb.business.model_copy(update={"languages": ["en"]}),
            "speech": pb.speech.model_copy(update={"end_silence_ms": 2000}),
        })
        loaded = LoadedPlaybook(loaded.path, english, loaded.catalog)
        return DoubtsEveryReading(loaded, now=datetime(2026, 11, 20, 18, 0, tzinfo=pb.business.tz))

    return make
