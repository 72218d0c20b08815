"""What every POS adapter offers: catalog in, ticket out, webhooks in.

An adapter is a small synchronous object (the outbox sender runs it in worker
threads). Errors are classified so the sender knows what to do next:

- `TransientError`: try again later (429, 5xx, timeout, garbage reply);
  `retry_after` carries the vendor's hint, `maybe_applied` says whether the
  POS may have created the order anyway (so `find` must run before a retry).
- `PermanentError`: the POS refused this ticket for good (a 4xx validation
  error); retrying cannot help, the ticket goes to dead letter.
- `SignatureError`: a webhook whose signature does not verify; `MalformedWebhook`
  one that is signed but cannot be read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from agi.catalog import Catalog
from agi.tickets import Ticket

ChannelTag = Literal["native", "order_type", "dining_option", "detail_field", "note", "none"]


class PosError(Exception):
    """Base of every error an adapter raises."""


class TransientError(PosError):
    def __init__(self, message: str, *, retry_after: float | None = None, maybe_applied: bool = True,
                 kind: str = "error"):
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied
        self.kind = kind  # short label for metrics: timeout, http_429, http_5xx, invalid


class PermanentError(PosError):
    def __init__(self, message: str, *, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.status = status
        self.detail = detail


class ConfigurationError(PosError):
    """Missing credentials or merchant settings: nothing can be sent until fixed."""


class SignatureError(PosError):
    """A webhook that is not signed by the vendor it claims to come from."""


class MalformedWebhook(SignatureError):
    """A signed webhook whose content is not what the vendor sends: refused (400), nothing changes."""


@dataclass(frozen=True)
class Capabilities:
    bookings: bool = False
    deferred_payment: bool = True  # an order can stay open for pay-at-pickup
    native_idempotency: bool = False  # the POS itself replays a repeated key
    channel_tag: ChannelTag = "none"  # how "Phone" reaches the POS's reports
    catalog_webhooks: bool = False


@dataclass(frozen=True)
class Receipt:
    """The POS's acknowledgement of one ticket."""

    adapter: str
    order_id: str
    idempotency_key: str
    status: str = "open"
    total_minor: int | None = None
    currency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Receipt:
        return cls(**json.loads(text))

    def public(self) -> dict[str, str]:
        """The `pos` object of the simulate contract."""
        return {"adapter": self.adapter, "order_id": self.order_id, "idempotency_key": self.idempotency_key}


@dataclass(frozen=True)
class CatalogChange:
    """What a webhook says changed in a location's catalog.

    `availability` maps catalog ids (items, variations, modifiers) to in/out of
    stock and is applied at once; `resync` asks for a full catalog fetch (the
    vendor only said "something changed"). `occurred_at` is when the vendor
    says the change happened (epoch seconds; None when its events carry no
    time): the endpoint refuses events too old or from the future, and the
    catalog store never lets an older change replace a newer state.
    """

    vendor: str
    location: str | None = None
    availability: dict[str, bool] = field(default_factory=dict)
    resync: bool = False
    event_id: str | None = None
    event_type: str = ""
    occurred_at: float | None = None


@runtime_checkable
class Adapter(Protocol):
    name: str
    capabilities: Capabilities

    def fetch_catalog(self) -> Catalog: ...

    def submit(self, ticket: Ticket, key: str) -> Receipt: ...

    def find(self, key: str, since: datetime | None = None) -> Receipt | None: ...

    def cancel(self, receipt: Receipt) -> None: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> CatalogChange | None: ...


def external_ref(key: str, max_len: int, prefix: str = "") -> str:
    """A deterministic reference for POSes without idempotency keys.

    The same key always gives the same reference; keys too long for the
    vendor's field are shortened to a hash so two keys never share one.
    """
    ref = prefix + key
    if len(ref) <= max_len:
        return ref
    digest = hashlib.sha256(key.encode()).hexdigest()
    return (prefix + digest)[:max_len]


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
