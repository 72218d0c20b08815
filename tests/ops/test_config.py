"""The worker config: loopback defaults, file:line errors, secrets by reference only."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.config import WorkerConfig, load_config
from agi.yamlconf import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callticket.yaml"
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_only():
    config = load_config(None)
    listeners = config.listeners()
    assert {name: (l.host, l.port) for name, l in listeners.items()} == {
        "asterisk.agi": ("127.0.0.1", 4573),
        "asterisk.audiosocket": ("127.0.0.1", 9092),
        "freeswitch.esl": ("127.0.0.1", 8084),
        "metrics.ports.serve_agi": ("127.0.0.1", 9464),
        "metrics.ports.serve_esl": ("127.0.0.1", 9465),
        "metrics.ports.outbox": ("127.0.0.1", 9466),
    }
    assert config.records.store_audio is False
    assert config.records_dsn.startswith("sqlite:")


def test_a_config_file_hears_like_the_defaults(tmp_path: Path, monkeypatch):
    """A worker started with a config file (the example, or one without `stt:`) picks
    models, threads and precision as the measured defaults do: tiny.en for English
    calls, float16 when a GPU is there."""
    from agi.speech.stt import settings_from_env

    for name in ("CALLTICKET_STT_MODEL", "CALLTICKET_STT_THREADS", "CALLTICKET_STT_POOL", "CALLTICKET_STT_DEVICE",
                 "CALLTICKET_STT_SECOND_OPINION"):
        monkeypatch.delenv(name, raising=False)
    for config in (load_config(ROOT / "deploy" / "callticket.example.yaml"), load_config(_write(tmp_path, "data_dir: var\n"))):
        assert config.stt.settings() == settings_from_env()
        assert config.stt.settings().second_opinion  # misheard turns get the second model by default
    off = load_config(_write(tmp_path, "data_dir: var\nstt: {second_opinion: false}\n"))
    assert off.stt.settings().second_opinion is False


def test_example_config_is_valid(monkeypatch):
    config = load_config(ROOT / "deploy" / "callticket.example.yaml")
    assert all(l.host == "127.0.0.1" for l in config.listeners().values())
    assert config.playbooks.dir.is_absolute()


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = _write(tmp_path, "data_dir: state\nplaybooks: {dir: pb}\nlogging: {file: logs/worker.log}\n")
    config = load_config(path)
    assert config.data_dir == tmp_path / "state"
    assert config.playbooks.dir == tmp_path / "pb"
    assert config.logging.file == tmp_path / "logs" / "worker.log"
    assert config.records_dsn == f"sqlite:{tmp_path / 'state' / 'calls.sqlite3'}"


def test_errors_name_file_line_and_field(tmp_path: Path):
    path = _write(tmp_path, (
        "data_dir: var\n"
        "stt:\n"
        "  model: base\n"
        "  pool_size: 0\n"
        "tts: {engine: festival}\n"
        "asterisk:\n"
        "  agi: {port: 4573}\n"
        "  audiosocket: {port: 4573}\n"
        "metrics: {lisen: {port: 9000}}\n"
    ))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = sorted(str(p) for p in info.value.problems)
    assert f"{path}:4: stt.pool_size: Input should be greater than or equal to 1" in lines
    assert any(l.startswith(f"{path}:5: tts.engine: Input should be") for l in lines)
    assert f"{path}:9: metrics.lisen: unknown key" in lines


def test_port_clash_points_at_the_second_listener(tmp_path: Path):
    path = _write(tmp_path, "asterisk:\n  agi: {port: 4573}\n  audiosocket:\n    port: 4573\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert str(problem) == f"{path}:4: asterisk.audiosocket.port: 127.0.0.1:4573 is also used by asterisk.agi"


def test_an_inline_secret_is_refused_without_repeating_it(tmp_path: Path):
    path = _write(tmp_path, (
        "asterisk:\n"
        "  ami:\n"
        "    user: callticket\n"
        "    secret: s3cr3t-ami-password\n"
        "pos:\n"
        "  credentials:\n"
        "    pizzeria: {token: EAAAl-square-token-value}\n"
    ))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "s3cr3t-ami-password" not in text and "EAAAl-square-token-value" not in text
    fields = {(p.line, p.field) for p in info.value.problems}
    assert fields == {(4, "asterisk.ami.secret"), (7, "pos.credentials.pizzeria.token")}
    assert "use {env: VARIABLE} or {file: PATH}" in text


@pytest.mark.parametrize("dsn", [
    "postgresql://callticket:hunter22@db/callticket",
    "postgresql://callticket@db/callticket?password=hunter22",
    "postgres://db/callticket?sslmode=require&PassWord=hunter22",
    "postgresql://callticket@db/callticket?host=db&pass%77ord=hunter22",  # libpq decodes the name too
])
def test_a_password_in_the_outbox_dsn_is_refused(tmp_path: Path, dsn: str):
    path = _write(tmp_path, f"outbox: {{dsn: '{dsn}'}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "hunter22" not in str(info.value)
    assert info.value.problems[0].field == "outbox.dsn"


def test_secrets_come_from_env_or_file(tmp_path: Path, monkeypatch):
    secret_file = tmp_path / "webhook.key"
    secret_file.write_text("whsec-from-a-file\n")
    path = _write(tmp_path, (
        "webhooks:\n"
        "  enabled: true\n"
        "  signing_keys:\n"
        "    square: {file: webhook.key}\n"
        "pos:\n"
        "  credentials:\n"
        "    pizzeria: {token: {env: PIZZERIA_SQUARE_TOKEN}}\n"
    ))
    monkeypatch.setenv("PIZZERIA_SQUARE_TOKEN", "sq0atp-env-token")
    config = load_config(path)
    assert config.pos_secret("pizzeria", "token") == "sq0atp-env-token"
    assert sorted(config.secret_values()) == ["sq0atp-env-token", "whsec-from-a-file"]
    dumped = config.model_dump_json()
    assert "sq0atp-env-token" not in dumped and "whsec-from-a-file" not in dumped
    monkeypatch.delenv("PIZZERIA_SQUARE_TOKEN")
    assert config.pos_secret("pizzeria", "token") is None


def test_missing_config_file_is_one_clear_problem(tmp_path: Path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}:0: <file>: no such config file"


def test_model_rejects_unknown_sections():
    with pytest.raises(Exception):
        WorkerConfig.model_validate({"asterisks": {}})


def test_metrics_port_clash_names_the_metrics_port(tmp_path: Path):
    path = _write(tmp_path, "freeswitch:\n  esl: {port: 9465}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.field == "metrics.ports.serve_esl"
    assert problem.message == "127.0.0.1:9465 is also used by freeswitch.esl"
