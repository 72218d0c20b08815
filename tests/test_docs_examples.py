"""Every YAML example in the docs is read by the code that reads that kind of file.

A user copies these blocks into their files, so each must work as written:

- a worker config (`callticket.yaml`) is loaded by the worker's config
  loader, and each `pos.credentials.<Playbook stem>` entry builds that
  Playbook's POS adapter with the credentials it names and nothing from the
  vendor's own environment variables (the adapter's credential reader: a
  name it does not read is refused);
- a Playbook example (all of one, or the sections it shows, laid over the
  bundled Playbook of the same name, else the pizzeria) is checked by the
  Playbook loader, and a vendor binding builds its adapter;
- a caller script is read by `simulate`'s script loader.

Which file a block belongs in: a first-line comment naming it
(`# /etc/callticket/playbooks/salon.yaml`), else its top-level keys. The stem
of a Playbook example's file name ties it to the credentials of a config
example in any of the docs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from adapters.registry import credential_names
from agi.config import WorkerConfig, load_config
from agi.playbook import Playbook, check_playbook
from agi.pos_adapter import adapter_spec, close_adapter
from agi.simulate import Script, load_script

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "tests", "var", "node_modules"}
DOCS = sorted(p for p in ROOT.rglob("*.md")
              if not SKIP_DIRS & set(p.relative_to(ROOT).parts) and not any(
                  part.startswith(".") for part in p.relative_to(ROOT).parts))
FOREIGN = {"scrape_configs": "a Prometheus scrape config"}  # examples of other programs' files
FENCE = re.compile(r"^```(yaml|yml)[ \t]*\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"^#\s*(\S+\.ya?ml)\b")


@dataclass(frozen=True)
class Example:
    doc: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def tree(self) -> dict:
        tree = YAML(typ="safe").load(self.text)
        assert isinstance(tree, dict), f"{self.where}: a YAML example should be a mapping"
        return tree

    @property
    def file(self) -> str | None:
        """The file the block says it belongs in, from its first-line comment."""
        m = MARKER.match(self.text)
        return m.group(1) if m else None

    @property
    def kind(self) -> str:
        if self.file is not None and Path(self.file).parent.name == "playbooks":
            return "playbook"
        if self.file is not None and Path(self.file).name.startswith("callticket"):
            return "config"
        keys = set(self.tree)
        if keys & set(FOREIGN):
            return "foreign"
        if "say" in keys:
            return "script"
        if keys <= set(Playbook.model_fields) and not (keys <= set(WorkerConfig.model_fields)):
            return "playbook"
        if keys <= set(WorkerConfig.model_fields) and not (keys <= set(Playbook.model_fields)):
            return "config"
        if keys == {"pos"}:  # both have one: a worker config's holds credentials and base URLs
            pos = self.tree["pos"] or {}
            return "config" if set(pos) <= set(WorkerConfig.model_fields["pos"].annotation.model_fields) \
                else "playbook"
        return "unknown"

    @property
    def stem(self) -> str:
        """The Playbook's file stem: named by the marker, else the bundled pizzeria's."""
        return Path(self.file).stem if self.file and self.kind == "playbook" else "pizzeria"


def _examples() -> list[Example]:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            out.append(Example(doc, text.count("\n", 0, m.start(2)) + 1, m.group(2)))
    return out


EXAMPLES = _examples()
PLAYBOOKS = {e.stem: e for e in EXAMPLES if e.kind == "playbook" and e.file}


def _merged(example: Example) -> dict:
    """The Playbook the example shows: its sections over the bundled one of its name.

    Sections merge key by key, but `pos` is one binding (adapter, catalog file, settings)
    and replaces the bundled one.
    """
    base_path = ROOT / "playbooks" / f"{example.stem}.yaml"
    if not base_path.exists():
        base_path = ROOT / "playbooks" / "pizzeria.yaml"
    base = YAML(typ="safe").load(base_path.read_text())

    def merge(into: dict, over: dict) -> dict:
        for key, value in over.items():
            into[key] = merge(dict(into[key]), value) if isinstance(value, dict) and isinstance(
                into.get(key), dict) and key != "pos" else value
        return into

    return merge(base, example.tree)


def _write_playbook(example: Example, directory: Path) -> Path:
    import shutil

    if not (directory / "catalogs").exists():
        shutil.copytree(ROOT / "playbooks" / "catalogs", directory / "catalogs")
    path = directory / f"{example.stem}.yaml"
    stream = path.open("w", encoding="utf-8")
    with stream:
        YAML(typ="safe").dump(_merged(example), stream)
    return path


def _without_vendor_env(monkeypatch: pytest.MonkeyPatch, vendor: str, named: set[str]) -> None:
    """The adapter must get every credential from what the example names, none from its fallbacks
    (unless the example itself names that variable)."""
    for var in set(credential_names(vendor).values()) - named:
        monkeypatch.delenv(var, raising=False)


def _secret_refs(tree, found: list[dict]) -> list[dict]:
    if isinstance(tree, dict):
        if set(tree) in ({"env"}, {"file"}):
            found.append(tree)
        for value in tree.values():
            _secret_refs(value, found)
    elif isinstance(tree, list):
        for value in tree:
            _secret_refs(value, found)
    return found


def _load_config_example(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example loaded as the worker loads it, with each secret it names present with a made-up value."""
    text = example.text
    for ref in _secret_refs(example.tree, []):
        if "env" in ref:
            monkeypatch.setenv(ref["env"], f"doc-example-{ref['env']}")
        else:  # a file outside this test's reach: the same path under tmp_path
            moved = tmp_path / "root" / str(ref["file"]).lstrip("/")
            moved.parent.mkdir(parents=True, exist_ok=True)
            moved.write_text("doc-example\n")
            text = text.replace(str(ref["file"]), str(moved))
    path = tmp_path / "callticket.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_the_docs_have_yaml_examples_of_each_kind():
    kinds = {e.kind for e in EXAMPLES}
    assert {"config", "playbook", "script"} <= kinds, [(e.where, e.kind) for e in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_each_yaml_example_is_read_by_the_code_that_reads_it(example, tmp_path, monkeypatch):
    kind = example.kind
    assert kind != "unknown", (f"{example.where}: no reader takes this example (keys {sorted(example.tree)}); "
                               "name its file in a first-line comment")
    if kind == "foreign":
        return
    if kind == "script":
        path = tmp_path / "call.yaml"
        path.write_text(example.text, encoding="utf-8")
        assert isinstance(load_script(path), Script)
        return
    if kind == "playbook":
        _check_playbook_example(example, tmp_path, monkeypatch, config=None)
        return
    config = _load_config_example(example, tmp_path, monkeypatch)
    for stem in config.pos.credentials:
        shown = PLAYBOOKS.get(stem)
        bundled = ROOT / "playbooks" / f"{stem}.yaml"
        assert shown is not None or bundled.exists(), (
            f"{example.where}: pos.credentials.{stem}: no Playbook '{stem}' in the docs or playbooks/ to say "
            "which POS these credentials are for")
        if shown is not None:
            _check_playbook_example(shown, tmp_path, monkeypatch, config)
        else:
            playbook = check_playbook(bundled)
            assert playbook.pos.adapter != "local", (
                f"{example.where}: pos.credentials.{stem}: the bundled {stem} Playbook uses the embedded "
                "POS, which reads no credentials")


def _check_playbook_example(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config) -> None:
    """The Playbook loader takes it; a vendor binding builds its adapter from the config's credentials
    (none given: from the vendor's environment variables, set here)."""
    path = _write_playbook(example, tmp_path / "playbooks")
    playbook = check_playbook(path)
    vendor = playbook.pos.adapter
    if vendor == "local":
        return
    named = {ref.env for ref in config.secrets().values() if ref.env} if config is not None else set()
    _without_vendor_env(monkeypatch, vendor, named)
    if config is None or example.stem not in config.pos.credentials:
        for name, var in credential_names(vendor).items():
            monkeypatch.setenv(var, f"doc-example-{name}")
    close_adapter(adapter_spec(path, playbook, config).build(tmp_path / "data"))
