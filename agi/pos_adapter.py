"""The POS adapter of one Playbook, built with what the worker config gives it.

    spec = adapter_spec(path, playbook, config)   # what the adapter is built from
    adapter = spec.build(data_dir)

- Credentials: `pos.credentials.<Playbook file stem>` (or `.<business id>`),
  each a secret reference; whatever is not given there the adapter reads from
  its own environment variables (adapters/README.md).
- `pos.base_urls.<vendor>`: a sandbox or regional API (a Playbook's
  `pos.settings.base_url` wins).
- Catalog webhooks: `webhooks.signing_keys.<vendor>` is the key the adapter
  checks signatures with, and Square's notification URL (which Square signs
  together with the body) defaults to `webhooks.public_url` + `/<location>`.

The location key of a Playbook is its file stem: the catalog store knows the
Playbook's catalog by it and the worker answers its webhooks on
`POST /webhooks/<file stem>`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.base import Adapter
from adapters.registry import WEBHOOK_SECRETS, build_adapter
from agi import metrics
from agi.playbook import Playbook, PosBinding

if TYPE_CHECKING:
    from agi.config import WorkerConfig


def location_key(path: Path) -> str:
    """The id of a Playbook's catalog in the store and in its webhook URL: the file stem."""
    return Path(path).stem


def credentials(config: WorkerConfig | None, path: Path, playbook: Playbook) -> dict[str, str]:
    """The POS credentials the worker config names for this Playbook (values; never print them)."""
    if config is None:
        return {}
    refs = config.pos.credentials.get(location_key(path)) or config.pos.credentials.get(playbook.business.id) or {}
    return {name: value for name, ref in refs.items() if (value := ref.value())}


def webhook_url(config: WorkerConfig | None, location: str) -> str | None:
    """Where the vendor posts this location's webhooks: `webhooks.public_url/<location>`."""
    public = config.webhooks.public_url if config is not None else None
    return f"{public.rstrip('/')}/{location}" if public else None


@dataclass(frozen=True)
class AdapterSpec:
    """Everything an adapter is built from; two equal specs build equal adapters."""

    binding: PosBinding
    tz: str
    base_dir: Path
    secrets: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None

    @property
    def vendor(self) -> str:
        return self.binding.adapter

    def fingerprint(self) -> str:
        """A digest of the spec (secrets included, so a rotated token counts as a change)."""
        text = json.dumps([self.binding.model_dump(mode="json"), self.tz, str(self.base_dir), self.secrets,
                           self.base_url], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def build(self, data_dir: Path, transport: Any = None) -> Adapter:
        """The adapter; its vendor requests are timed in the process's POS metrics.

        `transport` (httpx) carries its requests instead of the network's (a dry run).
        """
        return build_adapter(self.binding, data_dir=data_dir, base_dir=self.base_dir, tz=self.tz,
                             secrets=self.secrets or None, base_url=self.base_url, observer=metrics.pos_request,
                             transport=transport)


def adapter_spec(path: Path, playbook: Playbook, config: WorkerConfig | None = None) -> AdapterSpec:
    """What the Playbook's `pos:` section and the worker config say the adapter is."""
    path = Path(path)
    binding = playbook.pos
    secrets = credentials(config, path, playbook)
    base_url = None
    if config is not None and binding.adapter != "local":
        base_url = config.pos.base_urls.get(binding.adapter)
        key = config.webhooks.signing_keys.get(binding.adapter)
        value = key.value() if key is not None else None
        if value:
            secrets.setdefault(WEBHOOK_SECRETS[binding.adapter], value)
        url = webhook_url(config, location_key(path))
        if binding.adapter == "square" and url and not binding.settings.get("webhook_url"):
            binding = binding.model_copy(update={"settings": {**binding.settings, "webhook_url": url}})
    return AdapterSpec(binding, playbook.business.timezone, path.parent, secrets, base_url)


def adapter_for(path: Path, playbook: Playbook, data_dir: Path, config: WorkerConfig | None = None) -> Adapter:
    return adapter_spec(path, playbook, config).build(data_dir)


def close_adapter(adapter: Adapter) -> None:
    """Let go of an adapter's connections (every adapter has `close`; the protocol does not name it)."""
    close = getattr(adapter, "close", None)
    if close is not None:
        close()
