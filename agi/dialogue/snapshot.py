"""A conversation as JSON and back, exactly: a text conversation (SMS, email) is
stored after every message and continued minutes or hours later on any worker.

Only plain JSON goes out: datetimes, days and fulfillment types carry a tag
(`{"$dt": ...}`), order lines are their fields, and a line counted as unsaid
("large pepperoni pizzas") is kept by its place on the order, since the
dialogue tracks those by identity.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from enum import Enum
from typing import Any

from agi.dialogue.state import Asking, DialogueState, Pending, PendingKind
from agi.tickets import FulfillmentType, OrderLine

VERSION = 1


def state_to_json(state: DialogueState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(DialogueState):
        value = getattr(state, f.name)
        if f.name == "uncounted":
            value = [i for i, line in enumerate(state.lines) if any(line is u for u in value)]
        elif f.name == "pending":
            value = None if value is None else {
                "kind": value.kind.value if isinstance(value.kind, Enum) else value.kind,
                "lines": [_line(line) for line in value.lines],
                "rule_id": value.rule_id,
            }
        else:
            value = _plain(value)
        out[f.name] = value
    out["version"] = VERSION
    return out


def state_from_json(data: dict[str, Any]) -> DialogueState:
    if data.get("version") != VERSION:
        raise ValueError(f"a conversation stored as version {data.get('version')}, not {VERSION}")
    state = DialogueState()
    for f in fields(DialogueState):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "lines":
            value = [OrderLine.model_validate(line) for line in value]
        elif f.name == "pending":
            value = None if value is None else Pending(
                PendingKind(value["kind"]), [OrderLine.model_validate(x) for x in value["lines"]], value["rule_id"]
            )
        elif f.name == "uncounted":
            continue  # by place on the order, once the lines are in
        elif f.name == "upsells_offered":
            value = set(value)
        elif f.name == "narrowed":
            value = None if value is None else (value[0], tuple(value[1]))
        elif f.name == "asking":
            value = _asking(value)
        else:
            value = _typed(value)
        setattr(state, f.name, value)
    state.uncounted = [state.lines[i] for i in data.get("uncounted", []) if i < len(state.lines)]
    return state


def _asking(value: Any) -> Any:
    try:
        return Asking(value)
    except ValueError:
        return value  # a slot id, or a detail question


def _line(line: OrderLine) -> dict[str, Any]:
    return line.model_dump(mode="json")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, FulfillmentType):
        return {"$fulfillment": value.value}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, OrderLine):
        return _line(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        items = sorted(value) if isinstance(value, set) else value
        return [_plain(v) for v in items]
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        if set(value) == {"$fulfillment"}:
            return FulfillmentType(value["$fulfillment"])
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value
