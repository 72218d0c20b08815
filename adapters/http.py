"""One HTTP client per vendor: auth headers, timeouts, and error classification.

Every vendor call goes through `VendorHttp.request`, which turns what the
network and the vendor say into the adapter error classes:

- connect error            -> TransientError(maybe_applied=False)
- timeout after sending    -> TransientError(maybe_applied=True for writes)
- 429                      -> TransientError(retry_after=Retry-After, maybe_applied=False)
- 5xx                      -> TransientError(maybe_applied=True for writes)
- 2xx with a broken body   -> TransientError(kind="invalid", maybe_applied=True)
- other 4xx                -> VendorHttpError (the adapter decides: not found,
                              duplicate, or PermanentError)

JSON numbers are parsed as Decimal so no amount ever passes through a float,
and Decimals in request bodies are written as exact JSON numbers.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from adapters.base import PermanentError, TransientError
from agi.logs import add_secrets

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEC_MARK = "\u0000dec:"
_DEC_RE = re.compile(r'"\\u0000dec:(-?[0-9]+(?:\.[0-9]+)?(?:E[+-]?[0-9]+)?)"')


def dumps(body: Any) -> str:
    """json.dumps that writes Decimal('12.50') as the number 12.50."""

    def mark(o: Any) -> Any:
        if isinstance(o, Decimal):
            return _DEC_MARK + format(o, "f")
        if isinstance(o, dict):
            return {k: mark(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [mark(v) for v in o]
        return o

    return _DEC_RE.sub(r"\1", json.dumps(mark(body), separators=(",", ":")))


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


CREDENTIAL_HEADERS = frozenset({"authorization", "api-authentication", "x-api-key", "proxy-authorization"})


def credentials_in(headers: Mapping[str, str]) -> list[str]:
    """The credential values among request headers: the whole value and its token after the scheme."""
    out: list[str] = []
    for name, value in headers.items():
        if name.lower() in CREDENTIAL_HEADERS and value:
            out.append(value)
            out.append(value.split(None, 1)[-1])
    return out


class VendorHttpError(Exception):
    """A 4xx other than 429: the adapter decides what it means."""

    def __init__(self, status: int, body: Any, text: str):
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status
        self.body = body
        self.text = text

    def permanent(self, what: str) -> PermanentError:
        return PermanentError(f"{what}: HTTP {self.status}: {self.text[:300]}", status=self.status, detail=self.body)


RequestObserver = Callable[[str, float, "str | None"], None]


class VendorHttp:
    def __init__(self, vendor: str, base_url: str, headers: Callable[[], Mapping[str, str]],
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 observer: RequestObserver | None = None):
        self.vendor = vendor
        self.headers = headers
        self.observer = observer
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, content: str | bytes | None = None,
                content_type: str = "application/json", raw: bool = False) -> Any:
        """Send one request; returns parsed JSON (or text when `raw`)."""
        method = method.upper()
        write = method in WRITE_METHODS
        h = {"Accept": "application/json", **self.headers(), **(headers or {})}
        add_secrets(credentials_in(h))  # Basic and derived tokens are not in any setting
        if json_body is not None:
            content = dumps(json_body)
        if content is not None:
            h["Content-Type"] = content_type
        started = time.monotonic()
        error: str | None = None
        try:
            try:
                resp = self.client.request(method, path, params=params, content=content, headers=h)
            except httpx.ConnectError as exc:
                error = "connect"
                raise TransientError(f"{self.vendor}: cannot connect: {exc}", maybe_applied=False,
                                     kind="connect") from exc
            except httpx.TimeoutException as exc:
                error = "timeout"
                # A connect timeout never reached the vendor; a read timeout may have.
                sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                raise TransientError(f"{self.vendor}: {type(exc).__name__}", maybe_applied=write and sent,
                                     kind="timeout") from exc
            except httpx.TransportError as exc:
                error = "network"
                raise TransientError(f"{self.vendor}: {type(exc).__name__}: {exc}", maybe_applied=write,
                                     kind="network") from exc
            status = resp.status_code
            if status == 429:
                error = "http_429"
                raise TransientError(f"{self.vendor}: rate limited (429)",
                                     retry_after=retry_after(resp.headers.get("retry-after")),
                                     maybe_applied=False, kind="http_429")
            if status >= 500:
                error = "http_5xx"
                raise TransientError(f"{self.vendor}: HTTP {status}: {resp.text[:200]}",
                                     retry_after=retry_after(resp.headers.get("retry-after")),
                                     maybe_applied=write, kind="http_5xx")
            if status >= 400:
                error = f"http_{status}"
                try:
                    body = loads(resp.content)
                except ValueError:
                    body = None
                raise VendorHttpError(status, body, resp.text)
            if raw:
                return resp.text
            if not resp.content.strip():
                return None
            try:
                return loads(resp.content)
            except ValueError as exc:
                error = "invalid"
                raise TransientError(f"{self.vendor}: HTTP {status} with a body that is not JSON",
                                     maybe_applied=write, kind="invalid") from exc
        finally:
            if self.observer is not None:
                self.observer(self.vendor, time.monotonic() - started, error)


def expect(data: Any, *path: str | int, vendor: str) -> Any:
    """data[path...] or a TransientError naming what the vendor left out."""
    cur = data
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            raise TransientError(f"{vendor}: reply lacks {'.'.join(map(str, path))}", maybe_applied=True,
                                 kind="invalid") from None
    return cur
