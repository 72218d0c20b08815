"""Hostile Playbooks, catalogs and configs: a `file:line` error, small and quick, never a traceback.

What a person (or an attacker with write access to the watched Playbooks
folder) can put in a YAML file: alias bombs with a duplicate key, a megabyte
string where a short value belongs, bytes that are not UTF-8, nesting
thousands deep, thousands of wrong entries. `validate`, `check-config`, the
workers' start and the running worker's Playbook watch must each answer with
a few short `file:line: field: message` lines.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from attack import ROOT

PIZZERIA = ROOT / "playbooks" / "pizzeria.yaml"


def bomb(levels: int, duplicate: str) -> str:
    """The billion-laughs document: each level nine aliases of the one before; then a duplicate key."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnop"[: levels - 1]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append(f"{duplicate}: x")
    return "\n".join(lines) + "\n"


def validate(*paths: Path, memory_mb: int = 600, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """`callticket validate` in its own process, with a memory ceiling and a deadline."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))

    return subprocess.run([sys.executable, "-m", "agi.cli", "validate", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s, preexec_fn=limit,
                          env={**os.environ, "CALLTICKET_CONFIG": ""})


def short_file_line_errors(result: subprocess.CompletedProcess[str], path: Path, max_lines: int = 60) -> list[str]:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert 1 <= len(lines) <= max_lines, f"{len(lines)} lines"
    for line in lines:
        assert line.startswith(f"{path}:") and len(line) < 600, line[:300]
        assert int(line.split(":")[1]) >= 1, line  # a real line number, not 0
    return lines


def test_an_alias_bomb_with_a_duplicate_key_is_a_short_error(tmp_path):
    small = tmp_path / "small.yaml"
    small.write_text(bomb(5, "e"))  # its duplicate's original value would print as 400 KB
    (line,) = short_file_line_errors(validate(small), small)
    assert ':6: <yaml>: found duplicate key "e"' in line

    huge = tmp_path / "huge.yaml"
    huge.write_text(bomb(9, "i"))  # nine lines: 387 million values once expanded
    (line,) = short_file_line_errors(validate(huge, timeout_s=30), huge)
    assert "aliases" in line


def test_a_megabyte_string_is_quoted_as_an_excerpt(tmp_path):
    pb = tmp_path / "pizzeria.yaml"
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "pizzeria.yaml").write_text((ROOT / "playbooks" / "catalogs" / "pizzeria.yaml").read_text())
    pb.write_text(PIZZERIA.read_text().replace("America/New_York", "X" * 1_000_000))
    (line,) = short_file_line_errors(validate(pb), pb)
    assert "business.timezone: unknown time zone 'XXXX" in line and "characters" in line


def test_bytes_that_are_not_utf8_name_the_line(tmp_path):
    pb = tmp_path / "pizzeria.yaml"
    text = PIZZERIA.read_text().replace("name: Tony's Pizzeria", "name: Caf\xe9")
    pb.write_bytes(text.encode("utf-8").replace("Caf\xe9".encode("utf-8"), b"Caf\xe9"))  # one Latin-1 byte
    (line,) = short_file_line_errors(validate(pb), pb)
    expected = next(n for n, ln in enumerate(text.splitlines(), 1) if "Caf\xe9" in ln)
    assert line.startswith(f"{pb}:{expected}: <file>: not UTF-8")


def test_deep_nesting_names_the_line(tmp_path):
    pb = tmp_path / "deep.yaml"
    pb.write_text("business:\n  id: x\n  name: y\ngreeting: " + "[" * 5000 + "]" * 5000 + "\n")
    (line,) = short_file_line_errors(validate(pb), pb)
    assert line.startswith(f"{pb}:4: <yaml>: nested more than")


def test_thousands_of_wrong_entries_are_summed_up(tmp_path):
    catalog = tmp_path / "catalogs" / "pizzeria.yaml"
    catalog.parent.mkdir()
    catalog.write_text("currency: USD\nitems:\n" + "".join(f"  - {{id: i{n}, name: x, price: -1}}\n" for n in range(3000)))
    pb = tmp_path / "pizzeria.yaml"
    pb.write_text(PIZZERIA.read_text())
    result = validate(pb)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert 2 <= len(lines) <= 60 and "more problems" in lines[-1], lines[-3:]


def test_a_config_that_is_not_utf8_is_a_file_line_error(tmp_path):
    config = tmp_path / "callticket.yaml"
    config.write_bytes(b"data_dir: var\n# r\xe9glages\n")
    result = subprocess.run([sys.executable, "-m", "agi.cli", "check-config", "--config", str(config)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"{config}:2: <file>: not UTF-8" in result.stdout


WATCH = """
import json, logging, resource, sys
from pathlib import Path
from agi.registry import PlaybookRegistry

lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append(len(self.format(record)))
logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.INFO)
pbs = Path(sys.argv[1])
registry = PlaybookRegistry(pbs)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
(pbs / "bomb.yaml").write_text(sys.argv[2])
registry.check()
print(json.dumps({"names": registry.names, "errors": [str(p) for p in registry.errors.get("bomb", ())],
                  "longest_log_line": max(lines), "grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


def test_a_bomb_dropped_into_the_watched_folder_is_refused_in_one_short_line(tmp_path):
    pbs = tmp_path / "playbooks"
    (pbs / "catalogs").mkdir(parents=True)
    (pbs / "catalogs" / "pizzeria.yaml").write_text((ROOT / "playbooks" / "catalogs" / "pizzeria.yaml").read_text())
    (pbs / "pizzeria.yaml").write_text(PIZZERIA.read_text())

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1200 * 2**20, 1200 * 2**20))

    # the running worker's watch pass, in a process of its own with a memory ceiling
    result = subprocess.run([sys.executable, "-c", WATCH, str(pbs), bomb(9, "i")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, preexec_fn=limit)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout)
    (problem,) = seen["errors"]
    assert problem.startswith(f"{pbs / 'bomb.yaml'}:") and "aliases" in problem
    assert seen["longest_log_line"] < 600
    assert seen["grown_mb"] < 50, f"the worker grew {seen['grown_mb']:.0f} MB"
    assert seen["names"] == ["pizzeria"]  # and the good Playbook keeps serving


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "{" * 200 + "\n", "a: *nowhere\n", "\ufeff\x00\x01"])
def test_odd_yaml_is_one_clear_error(tmp_path, text):
    pb = tmp_path / "odd.yaml"
    pb.write_text(text)
    result = validate(pb)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stdout.startswith(f"{pb}:")
