"""Load a YAML file into a pydantic model with `file:line: field: message` errors.

Playbooks, local catalogs and the worker config are written by people, so a
mistake must point at the line to fix, never at a traceback. A file may also
be hostile (the Playbooks folder is watched by the running worker), so what
it can cost is bounded before it is built: bytes that are not UTF-8, nesting
deeper than MAX_DEPTH, or aliases that would add more than MAX_ALIAS_VALUES
values each stop the load with one `file:line` problem; a value quoted in a
message is cut to an excerpt, and one file reports at most MAX_PROBLEMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # a Playbook nests about 6 deep
MAX_ALIAS_VALUES = 100_000  # values aliases may add to a file (a bomb adds millions)
MAX_TEXT = 200  # characters of a value quoted in a message
MAX_FIELD = 120
MAX_PROBLEMS = 50  # per file; then one line says how many more


def excerpt(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its start and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, pinned to a line."""

    file: str
    line: int
    field: str
    message: str

    def __post_init__(self) -> None:
        # Whatever a file holds, a problem is a line a person reads.
        object.__setattr__(self, "field", excerpt(self.field, MAX_FIELD))
        object.__setattr__(self, "message", excerpt(self.message))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ConfigError(Exception):
    """A file failed to load or validate; `problems` holds every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, but a duplicate key's message names the key only:
    ruamel's own quotes both values, which an alias bomb expands into gigabytes."""

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        if key in mapping:
            raise DuplicateKeyError("while constructing a mapping", node.start_mark,
                                    f'found duplicate key "{excerpt(str(key), 80)}"', key_node.start_mark)
        return True


def read_yaml(path: str | Path) -> Any:
    """Parse YAML keeping line numbers; syntax errors become a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, "<file>", exc.strerror or str(exc))]) from None
    if len(data) > MAX_FILE_BYTES:
        _raise(path, 0, "<file>", f"larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        _raise(path, line, "<file>", f"not UTF-8 text (byte 0x{data[exc.start]:02x}): save the file as UTF-8")
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        _bounded(text)
        return yaml.load(text)
    except _TooCostly as exc:
        return _raise(path, exc.line, "<yaml>", exc.message)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        message = (exc.problem or exc.context or "invalid YAML").strip()
        return _raise(path, line, "<yaml>", message)
    except Exception as exc:  # ruamel raises a few unmarked errors
        return _raise(path, 0, "<yaml>", (str(exc).splitlines() or [type(exc).__name__])[0])


class _TooCostly(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _bounded(text: str) -> None:
    """Walk the parse events (no document is built) and stop at nesting deeper
    than MAX_DEPTH or aliases that add more than MAX_ALIAS_VALUES values."""
    open_: list[list[Any]] = []  # per collection being read: [anchor, values in it]
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    added = 0
    for event in YAML(typ="rt").parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            if len(open_) >= MAX_DEPTH:
                raise _TooCostly(line, f"nested more than {MAX_DEPTH} levels deep")
            open_.append([event.anchor, 1])
            continue
        if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            anchor, count = open_.pop()
        elif isinstance(event, ScalarEvent):
            anchor, count = event.anchor, 1
        elif isinstance(event, AliasEvent):
            anchor, count = None, sizes.get(event.anchor, 1)
            added += count
            if added > MAX_ALIAS_VALUES:
                raise _TooCostly(line, f"aliases expand to more than {MAX_ALIAS_VALUES} values")
        else:
            continue
        if anchor:
            sizes[anchor] = count
        if open_:
            open_[-1][1] += count


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
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    for err in errors[:MAX_PROBLEMS]:
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
    if len(errors) > MAX_PROBLEMS:
        first = problems[0]
        problems.append(Problem(first.file, first.line, "<file>",
                                f"and {len(errors) - MAX_PROBLEMS} more problems (fix these first)"))
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
