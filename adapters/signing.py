"""Webhook helpers: HMAC digests compared in constant time, and the time an event says it happened."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from adapters.base import MalformedWebhook, SignatureError


def hmac_hex(secret: str, message: bytes, algo: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, getattr(hashlib, algo)).hexdigest()


def hmac_b64(secret: str, message: bytes, algo: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, getattr(hashlib, algo)).digest()).decode()


def verify(given: str | None, expected: str) -> None:
    """Raise SignatureError unless `given` equals `expected` (constant time)."""
    if not given:
        raise SignatureError("missing signature header")
    given = given.strip()
    for prefix in ("sha256=", "sha1="):  # some vendors name the algorithm
        given = given.removeprefix(prefix)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError("signature does not match")


def event_time(value: Any) -> float | None:
    """A vendor's event time as epoch seconds: an ISO 8601 string (`2026-01-01T10:00:00.000+0000`,
    `...Z`; no zone is UTC) or epoch milliseconds. None when absent or unreadable: the
    endpoint then dates the event by its arrival, and the signature still binds the body."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        ms = float(value)
        return ms / 1000.0 if 0 < ms < 1e15 else None
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


@contextlib.contextmanager
def reading(vendor: str) -> Iterator[None]:
    """Whatever a signed body holds that the vendor never sends (a string where an
    object belongs, a quantity that is not a number) becomes one `MalformedWebhook`."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        raise MalformedWebhook(f"{vendor}: malformed webhook: {type(exc).__name__}: {str(exc)[:120]}") from None
