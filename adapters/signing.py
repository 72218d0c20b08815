"""Webhook signature helpers: HMAC digests compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

from adapters.base import SignatureError


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
