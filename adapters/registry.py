"""Build the adapter a Playbook's `pos:` section names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.base import Adapter, ConfigurationError

VENDORS = ("square", "clover", "toast", "loyverse", "eposnow", "revel")

# The credential each vendor's adapter checks webhook signatures with (the
# worker config's `webhooks.signing_keys.<vendor>` is handed over under this name).
WEBHOOK_SECRETS = {
    "square": "webhook_signature_key",
    "clover": "webhook_auth_code",
    "toast": "webhook_secret",
    "loyverse": "client_secret",
    "eposnow": "webhook_secret",
    "revel": "webhook_secret",
}


def vendor_class(name: str) -> type:
    if name == "square":
        from adapters.square import SquareAdapter as cls
    elif name == "clover":
        from adapters.clover import CloverAdapter as cls
    elif name == "toast":
        from adapters.toast import ToastAdapter as cls
    elif name == "loyverse":
        from adapters.loyverse import LoyverseAdapter as cls
    elif name == "eposnow":
        from adapters.eposnow import EposNowAdapter as cls
    elif name == "revel":
        from adapters.revel import RevelAdapter as cls
    else:
        raise ConfigurationError(f"unknown POS adapter {name!r} (known: local, {', '.join(VENDORS)})")
    return cls


def credential_names(vendor: str) -> dict[str, str]:
    """The credentials a vendor's adapter reads: name -> the environment variable it falls back to."""
    return dict(vendor_class(vendor).credentials)


def build_adapter(binding: Any, *, data_dir: Path, base_dir: Path | None = None, tz: str = "UTC",
                  env: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None,
                  base_url: str | None = None, observer: Any = None, transport: Any = None) -> Adapter:
    """`binding` is a Playbook's PosBinding (adapter, catalog, channel, settings).

    `secrets` maps credential names (access_token, api_key, ...) to values the
    worker config resolved; anything not given is read from environment variables.
    A name the adapter does not read is refused: ignored, it would leave the
    adapter asking for its environment variable instead. `transport` (httpx)
    carries the vendor requests (a dry run's, a test's).
    """
    if binding.adapter == "local":
        from adapters.local import LocalPos

        if not binding.catalog:
            raise ConfigurationError("the local POS needs 'catalog: <file>'")
        path = Path(binding.catalog)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return LocalPos(data_dir, path.resolve())
    from adapters.mapping import Settings

    cls = vendor_class(binding.adapter)
    unknown = sorted(set(secrets or {}) - set(cls.credentials))
    if unknown:
        reads = ", ".join(cls.credentials)
        raise ConfigurationError(f"{binding.adapter}: pos.credentials names {', '.join(map(repr, unknown))}, "
                                 f"which {binding.adapter} does not read (it reads {reads})")
    settings = dict(binding.settings)
    if base_url:
        settings.setdefault("base_url", base_url)
    kwargs: dict[str, Any] = {"channel": binding.channel, "tz": tz, "env": env, "observer": observer,
                              "transport": transport}
    if binding.adapter != "square":  # Square amounts carry their currency
        kwargs["currency"] = settings.get("currency", "GBP" if binding.adapter == "eposnow" else "USD")
    return cls(Settings(binding.adapter, settings, env, secrets), **kwargs)


def outbox_name(adapter: Adapter) -> str:
    """How outbox rows name the adapter instance that must deliver them."""
    if adapter.name == "local":
        return "local"
    return f"{adapter.name}:{location_of(adapter)}"


def location_of(adapter: Adapter) -> str:
    """The id a location is known by in the catalog store and webhook URLs."""
    for attr in ("location", "location_id", "restaurant", "merchant", "store", "establishment"):
        value = getattr(adapter, attr, None)
        if value:
            return str(value)
    return adapter.name
