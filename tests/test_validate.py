"""`callticket validate` names the file, line and field of every problem."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agi.cli import main

ROOT = Path(__file__).resolve().parents[1]
PIZZERIA = ROOT / "playbooks" / "pizzeria.yaml"
CATALOG = ROOT / "playbooks" / "catalogs" / "pizzeria.yaml"


def _copy(tmp_path: Path, playbook_edit=None, catalog_edit=None) -> Path:
    (tmp_path / "catalogs").mkdir()
    pb = PIZZERIA.read_text()
    cat = CATALOG.read_text()
    if playbook_edit:
        pb = playbook_edit(pb)
    if catalog_edit:
        cat = catalog_edit(cat)
    (tmp_path / "catalogs" / "pizzeria.yaml").write_text(cat)
    out = tmp_path / "pizzeria.yaml"
    out.write_text(pb)
    return out


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def _validate(capsys, *paths: Path) -> tuple[int, list[str]]:
    rc = main(["validate", *map(str, paths)])
    out = capsys.readouterr().out.strip().splitlines()
    return rc, out


def test_bundled_playbooks_are_clean(capsys):
    rc, out = _validate(capsys, *sorted((ROOT / "playbooks").glob("*.yaml")))
    assert (rc, out) == (0, [])


@pytest.mark.parametrize(
    "edit, needle, field, message",
    [
        (lambda s: s.replace("America/New_York", "Mars/Olympus"), "Mars/Olympus", "business.timezone",
         "unknown time zone 'Mars/Olympus'"),
        (lambda s: s.replace("  rate: 170", "  rate: fast"), "rate: fast", "persona.rate",
         "Input should be a valid integer, unable to parse string as an integer"),
        (lambda s: s.replace("  max_misunderstandings: 3", "  max_misunderstandings: 3\n  colour: red"),
         "colour: red", "escalation.colour", "unknown key"),
        (lambda s: s.replace("default_target: front-counter", "default_target: back-office"),
         "default_target: back", "escalation.default_target",
         "target 'back-office' is not in targets (front-counter, manager)"),
        (lambda s: s.replace('mon: ["11:00-22:00"]', 'mon: ["22:00-11:00"]'), 'mon: ["22:00-11:00"]',
         "business.hours.mon[0]", "'22:00-11:00' ends before it starts"),
        (lambda s: s.replace("    - {id: time, type: time, required: false}",
                             "    - {id: time, type: time, required: false}\n"
                             "    - {id: table, type: choice, choices: [inside, patio], choice_labels: {garden: {en: x}}}"),
         "choice_labels: {garden", "ticket.slots[3]",
         "choice_labels name garden, not among the choices"),
        (lambda s: s.replace("    - {id: time, type: time, required: false}",
                             "    - {id: time, type: time, required: false}\n    - {id: readback, type: text}"),
         "id: readback", "ticket.slots[3].id",
         "'readback' is a name the dialogue keeps for its own question; call the slot otherwise"),
    ],
)
def test_schema_problems_name_line_and_field(tmp_path, capsys, edit, needle, field, message):
    pb = _copy(tmp_path, playbook_edit=edit)
    rc, out = _validate(capsys, pb)
    line = _line_of(pb, needle)
    assert rc == 1
    assert out == [f"{pb}:{line}: {field}: {message}"]


MANAGER = '    - {id: manager, dial: PJSIP/102, voicemail: "102@default", freeswitch: {dial: user/1002, voicemail: "1002"}}'


@pytest.mark.parametrize("target, needle, field, message", [
    ("    - {id: manager, freeswitch: {dial: user/1002}, asterisk: {dial: PJSIP/102, voicemail: '102@default'}}",
     None, None, None),  # only each PBX's own strings: fine
    ("    - {id: manager, dial: PJSIP/102, freeswitch: {dial: PJSIP/1002}}", "PJSIP/1002",
     "escalation.targets[1].freeswitch.dial",
     "FreeSWITCH cannot dial it: 'PJSIP/1002' is not a FreeSWITCH endpoint (use one of: user, sofia, loopback, "
     "group, freetdm, verto.rtc, skinny)"),
    ("    - {id: manager, dial: user/1002, asterisk: {dial: user/102}}", "asterisk: {dial: user/102}",
     "escalation.targets[1].asterisk.dial",
     "Asterisk cannot dial it: 'user/102' is a FreeSWITCH endpoint, not an Asterisk channel (PJSIP/100, Queue(name), "
     "...)"),
    ("    - {id: manager, dial: 'user/${system(id)}'}", "system(id)", "escalation.targets[1].dial",
     "neither PBX can dial it: not a plain dial string: 'user/${system(id)}'; not a plain dial string: "
     "'user/${system(id)}'"),
    ("    - {id: manager, voicemail: '102@default'}", "id: manager", "escalation.targets[1]",
     "a target needs 'dial', or 'asterisk:' / 'freeswitch:' entries with their own"),
])
def test_transfer_targets_can_name_each_pbxs_own_strings(tmp_path, capsys, target, needle, field, message):
    """Asterisk dials PJSIP/100 where FreeSWITCH dials user/1000: a target may
    give each PBX its own, checked against that PBX's dial strings."""
    pb = _copy(tmp_path, playbook_edit=lambda s: s.replace(MANAGER, target))
    rc, out = _validate(capsys, pb)
    if needle is None:
        assert (rc, out) == (0, [])
        return
    assert rc == 1
    assert out == [f"{pb}:{_line_of(pb, needle)}: {field}: {message}"]


def test_reference_to_missing_item(tmp_path, capsys):
    pb = _copy(tmp_path, playbook_edit=lambda s: s.replace("offer: coke", "offer: pepsi"))
    rc, out = _validate(capsys, pb)
    assert rc == 1
    assert out == [f"{pb}:{_line_of(pb, 'offer: pepsi')}: upsell[0].offer: unknown catalog item 'pepsi'"]


def test_catalog_problems_point_into_the_catalog_file(tmp_path, capsys):
    def edit(cat: str) -> str:
        cat = cat.replace("    min: 0\n    max: 10", "    min: 5\n    max: 2", 1)
        cat = cat.replace("modifier_groups: [wing-sauce]", "modifier_groups: [wing-sauces]")
        return cat.replace("  - id: diet-coke\n", "  - id: coke\n")

    pb = _copy(tmp_path, catalog_edit=edit)
    cat = tmp_path / "catalogs" / "pizzeria.yaml"
    rc, out = _validate(capsys, pb)
    assert rc == 1
    assert out == [f"{cat}:{_line_of(cat, 'max: 2')}: modifier_groups[1].max: min (5) is greater than max (2)"]
    # With the schema problem fixed, the cross-reference problems show.
    cat.write_text(cat.read_text().replace("    min: 5\n    max: 2", "    min: 0\n    max: 10"))
    rc, out = _validate(capsys, pb)
    assert out == [
        f"{cat}:{_line_of(cat, 'wing-sauces')}: items[5].modifier_groups[0]: unknown modifier group 'wing-sauces'",
        f"{cat}:{_line_of(cat, '- id: coke') + 6}: items[9].id: duplicate id 'coke' (first used at items.8)",
    ]


def test_yaml_syntax_error_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("business:\n  name: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "agi.cli", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.startswith(f"{bad}:3: <yaml>: ")


def test_missing_file(tmp_path, capsys):
    rc, out = _validate(capsys, tmp_path / "nope.yaml")
    assert rc == 1
    assert out == [f"{tmp_path / 'nope.yaml'}:0: <file>: No such file or directory"]
