"""The systemd units: valid for systemd, unprivileged, with a graceful stop that
outlasts the config's grace period, and commands the CLI really has."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from agi.cli import build_parser
from agi.config import load_config

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
HARDENING = ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "CapabilityBoundingSet",
             "RestrictAddressFamilies", "SystemCallFilter")


def _unit(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    cp.optionxform = str  # systemd keys are case-sensitive
    cp.read(path)
    return cp


def test_three_units():
    assert [u.name for u in UNITS] == ["callticket-agi.service", "callticket-esl.service", "callticket-outbox.service"]


@pytest.mark.parametrize("path", UNITS, ids=[u.stem for u in UNITS])
def test_unit_is_unprivileged_hardened_and_stops_gracefully(path: Path):
    service = _unit(path)["Service"]
    assert service["User"] == "callticket" and service["Group"] == "callticket"
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"
    grace = load_config(ROOT / "deploy" / "callticket.example.yaml").shutdown.grace_s
    stop_s = int(service["TimeoutStopSec"])
    if "serve-" in service["ExecStart"]:
        assert stop_s > grace, "systemd would kill calls the worker is still allowed to finish"
        assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    for key in HARDENING:
        assert key in service, f"{path.name} lacks {key}"
    assert service["ProtectSystem"] == "strict" and service["StateDirectory"] == "callticket"
    assert "\nEnvironment=CALLTICKET_CONFIG=/etc/callticket/callticket.yaml\n" in path.read_text()


@pytest.mark.parametrize("path", UNITS, ids=[u.stem for u in UNITS])
def test_exec_start_is_a_callticket_command(path: Path):
    argv = shlex.split(_unit(path)["Service"]["ExecStart"])
    assert argv[0] == "/opt/callticket/bin/callticket"
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if argv[1] not in known:
        pytest.skip(f"`callticket {argv[1]}` is not installed in this tree")
    args = parser.parse_args(argv[1:])
    assert callable(args.func)


def test_systemd_accepts_the_units(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    exe = shutil.which("callticket") or str(ROOT / ".venv" / "bin" / "callticket")
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/callticket/bin/callticket", exe))
    proc = subprocess.run([analyze, "verify", *map(str, sorted(tmp_path.glob("*.service")))],
                          capture_output=True, text=True, timeout=60)
    complaints = [l for l in (proc.stdout + proc.stderr).splitlines() if str(tmp_path) in l]
    assert proc.returncode == 0 and complaints == [], proc.stdout + proc.stderr
