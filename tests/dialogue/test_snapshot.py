"""A conversation stored as JSON between every two turns goes on exactly as one never stored
(what a text conversation does between messages, on any worker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agi.dialogue.engine import DialogueEngine
from agi.dialogue.replies import ActionKind
from agi.playbook import load_playbook
from agi.simulate import Script, call_time

ROOT = Path(__file__).resolve().parents[2]
CALLS = sorted((ROOT / "tests" / "dialogue" / "calls").glob("*/*.yaml"))
_PLAYBOOKS: dict = {}


def _engine(playbook: str, script: Script) -> DialogueEngine:
    loaded = _PLAYBOOKS.get(playbook) or _PLAYBOOKS.setdefault(playbook, load_playbook(ROOT / "playbooks" / f"{playbook}.yaml"))
    return DialogueEngine(loaded, loaded.catalog, call_time(loaded, script), script.caller.number,
                          script.caller.language, script.recent_hangups)


def _play(playbook: str, script: Script, stored: bool) -> tuple[list, dict]:
    engine = _engine(playbook, script)
    said = [(engine.start().text,)]
    for text in script.say:
        if engine.finished:
            break
        if stored:
            data = json.loads(json.dumps(engine.snapshot()))
            engine = _engine(playbook, script)
            engine.restore(data)
        reply = engine.hear(text)
        kind = reply.action.kind.value if reply.action else None
        said.append((reply.text, kind, reply.action.reason if reply.action else None))
        if reply.action is not None and reply.action.kind == ActionKind.COMMIT:
            said.append((engine.committed("1001").text,))
    return said, engine.ticket().to_public()


@pytest.mark.parametrize("path", CALLS, ids=[f"{p.parent.name}/{p.stem}" for p in CALLS])
def test_a_conversation_stored_between_turns_goes_on_the_same(path: Path):
    script = Script.model_validate(YAML(typ="safe").load(path.read_text())["script"])
    assert _play(path.parent.name, script, stored=True) == _play(path.parent.name, script, stored=False)
