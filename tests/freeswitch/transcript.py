"""Byte-exact Event Socket captures from a real FreeSWITCH 1.10.12 (captures/).

`*_transcript.txt` holds both directions as frames, each after a marker line
`===== [   0.001s] APP -> FS (9 bytes) =====` (the marker is not on the wire),
and `*_raw_fs_to_app.bin` is every byte FreeSWITCH sent, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CAPTURES = Path(__file__).parent / "captures"
_MARKER = re.compile(rb"\n?===== \[\s*([0-9.]+)s\] (APP -> FS|FS -> APP) \((\d+) bytes\) =====\n")


@dataclass(frozen=True)
class Frame:
    t: float
    direction: str  # "APP -> FS" or "FS -> APP"
    data: bytes

    @property
    def from_fs(self) -> bool:
        return self.direction == "FS -> APP"


@cache
def frames(name: str) -> tuple[Frame, ...]:
    data = (CAPTURES / f"{name}_transcript.txt").read_bytes()
    out: list[Frame] = []
    pos = 0
    while True:
        m = _MARKER.match(data, pos) or _MARKER.search(data, pos)
        if m is None:
            break
        size = int(m.group(3))
        start = m.end()
        out.append(Frame(float(m.group(1)), m.group(2).decode(), data[start : start + size]))
        pos = start + size
    return tuple(out)


def raw_from_fs(name: str) -> bytes:
    return (CAPTURES / f"{name}_raw_fs_to_app.bin").read_bytes()


def sent_by_app(name: str) -> list[bytes]:
    return [f.data for f in frames(name) if not f.from_fs]


def first_event(name: str, event_name: str, contains: bytes = b"") -> bytes:
    """The first FS frame carrying event `event_name` (and `contains`)."""
    for f in frames(name):
        if f.from_fs and f"Event-Name: {event_name}\n".encode() in f.data and contains in f.data:
            return f.data
    raise LookupError(f"{name}: no {event_name} frame with {contains!r}")
