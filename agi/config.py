"""The worker config: one YAML file (`callticket.yaml`) for a whole worker.

Loaded with `agi.yamlconf.load_model`, so every mistake is reported as
`file:line: field: message`. Relative paths are relative to the config file.

Secrets (POS tokens, webhook signing keys, AMI/ESL passwords) are never
written in the file: a secret field holds a reference, `{env: NAME}` or
`{file: /run/secrets/name}`, and the value is read only when it is used
(`SecretRef.value()`). A plain string in a secret field is refused, and no
error message or summary ever repeats one.

    from agi.config import load_config
    config = load_config("/etc/callticket/callticket.yaml")   # or None: defaults
    config.asterisk.agi.port           # 4573, on 127.0.0.1 unless configured
    config.secret_values()             # for the log scrubber (agi.logs)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from agi.yamlconf import ConfigError, Problem, check_refs, load_model, read_yaml

if TYPE_CHECKING:
    from agi.speech.stt import SttSettings

DEFAULT_PATHS = (Path("/etc/callticket/callticket.yaml"),)
ENV_CONFIG = "CALLTICKET_CONFIG"
VENDORS = ("square", "clover", "toast", "loyverse", "eposnow", "revel")


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    """Resolve a path against the config file's directory (given as context)."""
    base = (info.context or {}).get("base_dir")
    value = value.expanduser()
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return value


ConfPath = Annotated[Path, AfterValidator(_relative_to_config)]


class _Strict(BaseModel):
    # validate_default: default paths, too, are relative to the config file.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SecretRef(_Strict):
    """Where a secret lives: an environment variable or a file (never the value)."""

    env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: ConfPath | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline_values(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError("secrets may not be written in the config: use {env: VARIABLE} or {file: PATH}")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> "SecretRef":
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        return f"env {self.env}" if self.env else f"file {self.file}"

    def value(self) -> str | None:
        """The secret, or None when the variable is unset or the file unreadable."""
        if self.env:
            return os.environ.get(self.env) or None
        try:
            assert self.file is not None
            text = self.file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):  # check-config says it cannot be read
            return None
        return text or None


class Listen(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class AmiConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    user: str
    secret: SecretRef


class AsteriskConfig(_Strict):
    agi: Listen = Listen(port=4573)
    audiosocket: Listen = Listen(port=9092)
    audiosocket_advertise: str | None = Field(None, description="host:port Asterisk connects to, when not the bind address")
    max_calls: int = Field(50, ge=1)
    transfer_mode: Literal["agi", "ami-redirect", "ami-blind"] = "agi"
    transfer_context: str = "callticket-transfer"
    ami: AmiConfig | None = None


# The worker's unicast ports (its own and those FreeSWITCH binds for the call):
# outside FreeSWITCH's RTP ports (16384-32768 unless switch.conf.xml says
# otherwise), Asterisk's (rtp.conf: 10000-20000) and Linux's ephemeral ports
# (32768-60999), so neither PBX nor an outgoing connection takes them.
FREESWITCH_MEDIA_PORTS = (61000, 61999)


class FreeswitchConfig(_Strict):
    esl: Listen = Listen(port=8084)
    media_host: str = "127.0.0.1"
    media_ports: tuple[int, int] = Field(FREESWITCH_MEDIA_PORTS, description="UDP range for unicast audio")
    max_calls: int = Field(50, ge=1)
    password: SecretRef | None = Field(None, description="ESL password, for inbound API connections")

    @field_validator("media_ports")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not (1024 <= low <= high <= 65535):
            raise ValueError(f"'{low}-{high}' is not a port range within 1024-65535")
        return value


class PlaybooksConfig(_Strict):
    dir: ConfPath = Path("playbooks")
    routes: dict[str, str] = Field(
        default_factory=dict, description="AGI route name or dialled number -> Playbook (file stem or business id)"
    )
    default: str | None = Field(None, description="Playbook for a route nothing else matches")
    watch: bool = True
    poll_s: float = Field(2.0, gt=0, le=3600)


class SttConfig(_Strict):
    model: str = Field("auto", description="auto (tiny.en for English, base for the rest) | tiny.en | base | a directory")
    pool_size: int = Field(2, ge=1, le=256, description="decodes at once, shared by every call")
    threads: int = Field(2, ge=1, le=256, description="CPU threads per decode")
    compute_type: str | None = Field(None, description="weights for a decode that runs alone: default int8 on CPU, "
                                     "float16 on CUDA; float32 hears more words right and needs more memory bandwidth")
    busy_compute_type: str | None = Field(
        None, description="weights for a decode started while another runs or waits: default compute_type")
    second_opinion: bool = Field(
        True, description="decode an utterance the dialogue could not make sense of, or a correction, again "
        "with the multilingual model when tiny.en heard it (model auto)")

    def settings(self) -> "SttSettings":
        """The recogniser settings: these, over CALLTICKET_STT_* from the environment."""
        from agi.speech.stt import settings_from_env

        return settings_from_env(model=self.model, threads=self.threads, pool_size=self.pool_size,
                                 compute_type=self.compute_type, busy_compute_type=self.busy_compute_type,
                                 second_opinion=self.second_opinion)


class TtsConfig(_Strict):
    engine: Literal["espeak-ng", "flite", "piper"] = "espeak-ng"
    cache_dir: ConfPath | None = Field(None, description="prompt cache; default <data_dir>/tts-cache")


class OutboxConfig(_Strict):
    dsn: str | None = Field(None, description="postgresql://... to share one outbox; default SQLite in data_dir")
    password: SecretRef | None = Field(None, description="PostgreSQL password, when not in ~/.pgpass")

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("postgresql://", "postgres://", "sqlite:")):
            raise ValueError("use postgresql://USER@HOST/DB or sqlite:PATH")
        if value.startswith(("postgresql://", "postgres://")):
            userinfo = value.split("://", 1)[1].split("?", 1)[0].split("@", 1)
            query = parse_qsl(urlsplit(value).query, keep_blank_values=True)  # names decoded, as libpq does
            if (len(userinfo) == 2 and ":" in userinfo[0]) or any(k.strip().lower() == "password" for k, _ in query):
                raise ValueError("no password in the DSN: use 'password: {env: NAME}' or ~/.pgpass")
        return value

    @property
    def is_postgres(self) -> bool:
        return bool(self.dsn) and self.dsn.startswith(("postgresql://", "postgres://"))  # type: ignore[union-attr]


class WebhooksConfig(_Strict):
    enabled: bool = False
    listen: Listen = Listen(port=8085)
    public_url: str | None = Field(None, description="the URL vendors post to (behind a reverse proxy)")
    signing_keys: dict[Literal["square", "clover", "toast", "loyverse", "eposnow", "revel"], SecretRef] = Field(
        default_factory=dict
    )
    max_event_age_s: float = Field(900, ge=30, le=7 * 86400, description="an event the vendor dated longer "
                                   "ago than this is not applied (the catalog refresh covers it)")


class PosConfig(_Strict):
    credentials: dict[str, dict[str, SecretRef]] = Field(
        default_factory=dict, description="Playbook id -> credential name -> where to read it"
    )
    base_urls: dict[Literal["square", "clover", "toast", "loyverse", "eposnow", "revel"], str] = Field(
        default_factory=dict, description="vendor -> API base URL (sandbox, EU region)"
    )

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for vendor, url in value.items():
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{vendor}: '{url}' is not an http(s) URL")
        return value


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"
    file: ConfPath | None = Field(None, description="default: stderr (the journal under systemd)")


class MetricsPorts(_Strict):
    serve_agi: int = Field(9464, ge=0, le=65535)
    serve_esl: int = Field(9465, ge=0, le=65535)
    outbox: int = Field(9466, ge=0, le=65535)


class MetricsConfig(_Strict):
    """/metrics, /healthz and /readyz: one port per worker process."""

    enabled: bool = True
    host: str = "127.0.0.1"
    ports: MetricsPorts = Field(default_factory=dict)  # type: ignore[assignment]

    def listen(self, process: Literal["serve_agi", "serve_esl", "outbox"]) -> Listen:
        return Listen(host=self.host, port=getattr(self.ports, process))


class RecordsConfig(_Strict):
    enabled: bool = True
    retention_days: int = Field(90, ge=1, le=3650)
    store_audio: bool = Field(False, description="keep caller audio with each record")


class ShutdownConfig(_Strict):
    grace_s: float = Field(120, ge=0, le=3600, description="on SIGTERM: finish calls in progress for up to this long")


class WorkerConfig(_Strict):
    data_dir: ConfPath = Path("var")
    pbx: list[Literal["asterisk", "freeswitch"]] = Field(
        default_factory=list,
        description="the PBXs this config's workers serve (serve-agi: asterisk, serve-esl: freeswitch): check-config "
                    "refuses a Playbook transfer target they cannot dial; empty: it warns about targets either cannot")
    playbooks: PlaybooksConfig = Field(default_factory=dict)  # type: ignore[assignment]
    asterisk: AsteriskConfig = Field(default_factory=dict)  # type: ignore[assignment]
    freeswitch: FreeswitchConfig = Field(default_factory=dict)  # type: ignore[assignment]
    stt: SttConfig = Field(default_factory=dict)  # type: ignore[assignment]
    tts: TtsConfig = Field(default_factory=dict)  # type: ignore[assignment]
    outbox: OutboxConfig = Field(default_factory=dict)  # type: ignore[assignment]
    webhooks: WebhooksConfig = Field(default_factory=dict)  # type: ignore[assignment]
    pos: PosConfig = Field(default_factory=dict)  # type: ignore[assignment]
    logging: LoggingConfig = Field(default_factory=dict)  # type: ignore[assignment]
    metrics: MetricsConfig = Field(default_factory=dict)  # type: ignore[assignment]
    records: RecordsConfig = Field(default_factory=dict)  # type: ignore[assignment]
    shutdown: ShutdownConfig = Field(default_factory=dict)  # type: ignore[assignment]
    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file this was read from (None: built-in defaults)."""
        return self._source

    def port_clashes(self) -> list[tuple[tuple[str, ...], str]]:
        """(location, message) for two listeners on one address."""
        out: list[tuple[tuple[str, ...], str]] = []
        seen: dict[tuple[str, int], str] = {}
        for name, listen in self.listeners().items():
            key = (listen.host, listen.port)
            if listen.port and key in seen:
                loc = tuple(name.split(".")) + (() if name.startswith("metrics.") else ("port",))
                out.append((loc, f"{listen} is also used by {seen[key]}"))
            seen.setdefault(key, name)
        return out

    def listeners(self) -> dict[str, Listen]:
        out = {
            "asterisk.agi": self.asterisk.agi,
            "asterisk.audiosocket": self.asterisk.audiosocket,
            "freeswitch.esl": self.freeswitch.esl,
        }
        if self.metrics.enabled:
            for process in ("serve_agi", "serve_esl", "outbox"):
                out[f"metrics.ports.{process}"] = self.metrics.listen(process)  # type: ignore[arg-type]
        if self.webhooks.enabled:
            out["webhooks.listen"] = self.webhooks.listen
        return out

    def secrets(self) -> dict[str, SecretRef]:
        """Every secret reference, by the field that names it."""
        out: dict[str, SecretRef] = {}
        if self.asterisk.ami is not None:
            out["asterisk.ami.secret"] = self.asterisk.ami.secret
        if self.freeswitch.password is not None:
            out["freeswitch.password"] = self.freeswitch.password
        if self.outbox.password is not None:
            out["outbox.password"] = self.outbox.password
        for vendor, ref in self.webhooks.signing_keys.items():
            out[f"webhooks.signing_keys.{vendor}"] = ref
        for playbook, creds in self.pos.credentials.items():
            for name, ref in creds.items():
                out[f"pos.credentials.{playbook}.{name}"] = ref
        return out

    def secret_values(self) -> list[str]:
        """The secrets' current values, for scrubbing; never print these."""
        return [v for v in (ref.value() for ref in self.secrets().values()) if v]

    def pos_secret(self, playbook_id: str, name: str) -> str | None:
        ref = self.pos.credentials.get(playbook_id, {}).get(name)
        return ref.value() if ref else None

    @property
    def records_dsn(self) -> str:
        """Where call records go: the outbox's PostgreSQL, else SQLite in data_dir."""
        if self.outbox.is_postgres:
            assert self.outbox.dsn is not None
            return self.outbox.dsn
        return f"sqlite:{self.data_dir / 'calls.sqlite3'}"

    @property
    def tts_cache_dir(self) -> Path:
        return self.tts.cache_dir or self.data_dir / "tts-cache"


def config_path(explicit: str | Path | None = None) -> Path | None:
    """The config to use: --config, else $CALLTICKET_CONFIG, else /etc/callticket/callticket.yaml if present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    return next((p for p in DEFAULT_PATHS if p.exists()), None)


def load_config(path: str | Path | None = None) -> WorkerConfig:
    """Read and validate the worker config; None gives the built-in defaults.

    Raises `ConfigError` (every problem as `file:line: field: message`).
    """
    if path is None:
        return WorkerConfig.model_validate({}, context={"base_dir": Path.cwd()})
    path = Path(path)
    if not path.is_file():
        raise ConfigError([Problem(str(path), 0, "<file>", "no such config file")])
    config = load_model(path, WorkerConfig, context={"base_dir": path.resolve().parent})
    clashes = config.port_clashes()
    if clashes:
        raise ConfigError(check_refs(path, read_yaml(path), clashes))
    config._source = path
    return config
