"""A Playbook's `pos:` section builds the right adapter; credentials come only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import Adapter, ConfigurationError
from adapters.registry import build_adapter, outbox_name
from agi.playbook import PosBinding

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "square": ({"location_id": "L1"}, {"SQUARE_ACCESS_TOKEN": "t"}, "SQUARE_ACCESS_TOKEN"),
    "clover": ({"merchant_id": "M"}, {"CLOVER_API_TOKEN": "t"}, "CLOVER_API_TOKEN"),
    "toast": ({"restaurant_guid": "R", "external_id_authority": "CT"},
              {"TOAST_CLIENT_ID": "i", "TOAST_CLIENT_SECRET": "s"}, "TOAST_CLIENT_ID"),
    "loyverse": ({"store_id": "S"}, {"LOYVERSE_ACCESS_TOKEN": "t"}, "LOYVERSE_ACCESS_TOKEN"),
    "eposnow": ({}, {"EPOSNOW_API_KEY": "k", "EPOSNOW_API_SECRET": "s"}, "EPOSNOW_API_KEY"),
    "revel": ({"establishment_id": "2", "subdomain": "demo"}, {"REVEL_API_KEY": "k", "REVEL_API_SECRET": "s"},
              "REVEL_API_KEY"),
}


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_vendor_adapters_build_from_a_binding(vendor, tmp_path):
    settings, env, var = CASES[vendor]
    binding = PosBinding(adapter=vendor, channel="Telephone", settings=settings)
    adapter = build_adapter(binding, data_dir=tmp_path, env=env, tz="America/Chicago")
    assert isinstance(adapter, Adapter) and adapter.name == vendor and adapter.channel == "Telephone"
    assert outbox_name(adapter).startswith(vendor + ":")
    with pytest.raises(ConfigurationError, match=var):
        build_adapter(binding, data_dir=tmp_path, env={})
    # A credential resolved by the worker config wins over the environment.
    first_secret = {"square": "access_token", "clover": "api_token", "toast": "client_id",
                    "loyverse": "access_token", "eposnow": "api_key", "revel": "api_key"}[vendor]
    others = {k: v for k, v in env.items() if k != var}
    build_adapter(binding, data_dir=tmp_path, env=others, secrets={first_secret: "from-config"})


def test_required_setting_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match="pos.settings.location_id"):
        build_adapter(PosBinding(adapter="square"), data_dir=tmp_path, env={"SQUARE_ACCESS_TOKEN": "t"})


def test_local_binding(tmp_path):
    binding = PosBinding(adapter="local", catalog="catalogs/pizzeria.yaml")
    pos = build_adapter(binding, data_dir=tmp_path, base_dir=ROOT / "playbooks")
    assert pos.name == "local" and pos.fetch_catalog().item("pizza-cheese") is not None
    assert outbox_name(pos) == "local"


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_the_credentials_a_config_may_name_are_those_the_adapter_reads(vendor, tmp_path, monkeypatch):
    from adapters.mapping import Settings
    from adapters.registry import credential_names

    settings, env, _ = CASES[vendor]
    asked: dict[str, str] = {}
    read = Settings.secret

    def recording(self, name, default_env, required=True):
        asked[name] = default_env
        return read(self, name, default_env, required)

    monkeypatch.setattr(Settings, "secret", recording)
    binding = PosBinding(adapter=vendor, settings=settings)
    names = credential_names(vendor)
    build_adapter(binding, data_dir=tmp_path, env={}, secrets={name: "from-config" for name in names})
    assert asked == names  # every one it reads, each with the environment variable it falls back to
    # A name it does not read is refused, not ignored in favour of the environment.
    with pytest.raises(ConfigurationError, match=f"'token', which {vendor} does not read \\(it reads "):
        build_adapter(binding, data_dir=tmp_path, env=env, secrets={"token": "from-config"})
