"""Load a YAML file into a pydantic model with `file:line: field: message` errors.

Playbooks, local catalogs and the worker config are written by people, so a
mistake must point at the line to fix, never at a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, pinned to a line."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ConfigError(Exception):
    """A file failed to load or validate; `problems` holds every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_yaml(path: str | Path) -> Any:
    """Parse YAML keeping line numbers; syntax errors become a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, "<file>", exc.strerror or str(exc))]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        message = (exc.problem or exc.context or "invalid YAML").strip()
        return _raise(path, line, "<yaml>", message)
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys)
        return _raise(path, 0, "<yaml>", str(exc).splitlines()[0])


def _raise(path: Path, line: int, field: str, message: str) -> Any:
    raise ConfigError([Problem(str(path), line, field, message)])


def line_of(tree: Any, loc: Iterable[str | int]) -> int:
    """1-based line of the deepest node of `tree` along `loc` (0 if unknown)."""
    line = 0
    node = tree
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    if line == 0 and isinstance(tree, CommentedMap) and tree.lc.line is not None:
        line = tree.lc.line + 1
    return line


def field_name(loc: Iterable[str | int]) -> str:
    """`('items', 3, 'price')` -> `items[3].price`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def problems_from(path: str | Path, tree: Any, exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into line-numbered Problems."""
    problems = []
    for err in exc.errors(include_url=False):
        # Drop the union/validator tags pydantic inserts between real keys.
        loc = [p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif message.startswith("Assertion failed, "):
            message = message[len("Assertion failed, ") :]
        problems.append(Problem(str(path), line_of(tree, loc), field_name(loc), message))
    return problems


def load_model(path: str | Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Read `path` and validate it as `model`; raise ConfigError on any problem."""
    tree = read_yaml(path)
    if tree is None:
        raise ConfigError([Problem(str(path), 1, "<root>", "file is empty")])
    try:
        return model.model_validate(tree, context=context)
    except ValidationError as exc:
        raise ConfigError(problems_from(path, tree, exc)) from None


def check_refs(path: str | Path, tree: Any, refs: Iterable[tuple[tuple[str | int, ...], str]]) -> list[Problem]:
    """Problems for cross-reference failures found after schema validation.

    `refs` holds (location, message) pairs; the location is resolved to a line.
    """
    return [Problem(str(path), line_of(tree, loc), field_name(loc), msg) for loc, msg in refs]
