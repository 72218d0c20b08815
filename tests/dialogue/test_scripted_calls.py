"""Every scripted call under calls/<playbook>/ must end exactly as its `expect` says.

The whole result is compared (outcome, ticket, transfer), not a substring; the
POS receipt must exist exactly when the ticket was committed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agi.playbook import load_playbook
from agi.pos_binding import local_committer
from agi.simulate import Script, run_script

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CALLS = sorted((HERE / "calls").glob("*/*.yaml"))


def _plain(value):
    """ruamel's round-trip containers -> plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("path", CALLS, ids=[f"{p.parent.name}/{p.stem}" for p in CALLS])
def test_scripted_call(path: Path, tmp_path: Path):
    spec = _plain(YAML(typ="safe").load(path.read_text()))
    loaded = load_playbook(ROOT / "playbooks" / f"{path.parent.name}.yaml")
    script = Script.model_validate(spec["script"])
    result = run_script(loaded, script, local_committer(loaded, tmp_path))
    got = {k: result[k] for k in ("outcome", "ticket", "transfer")}
    assert got == spec["expect"], _transcript(result)
    if result["outcome"] == "committed":
        assert result["pos"]["adapter"] == "local"
        assert result["pos"]["order_id"]
        assert len(result["pos"]["idempotency_key"]) >= 16
    else:
        assert result["pos"] is None


def _transcript(result: dict) -> str:
    lines = []
    for t in result["turns"]:
        if t["caller"]:
            lines.append(f"caller: {t['caller']}")
        lines.append(f"   bot: {t['bot']}")
    return "\n".join(lines)


def test_every_playbook_has_eight_scripted_calls():
    for playbook in sorted((ROOT / "playbooks").glob("*.yaml")):
        calls = list((HERE / "calls" / playbook.stem).glob("*.yaml"))
        assert len(calls) >= 8, f"{playbook.stem} has {len(calls)} scripted calls"
