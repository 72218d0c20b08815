"""Structured logs: one JSON object per line, with the call id, numbers masked
and secrets scrubbed.

    from agi import logs
    logs.setup(config.logging, secrets=config.secret_values())
    with logs.call_context(call_id):          # every line inside carries call_id
        log.info("call started", extra={"fields": {"caller": "+15551234567"}})
    logs.log_event(log, ev.Log("commit", {...}))  # a call core Log command

Fields travel in `extra={"fields": {...}}` (the same convention the PBX
drivers use). Fields that hold phone numbers (caller, caller_number, phone,
number, from, to) are masked with `agi.dialogue.policy.mask_number`, and
E.164 numbers inside free text are masked too. `SecretFilter` replaces every
known secret value, and bearer tokens / `password=` pairs, with `***` in the
message, its arguments and its fields, whichever handler writes them.

The same scrubber guards every other way text leaves the process:
`scrubbed_output()` (the CLI runs every command inside it) passes plain
prints and tracebacks on stdout and stderr through it, and the secrets it
knows include every credential an adapter reads (from the worker config or
the vendor's own variable, adapters.mapping) and every environment variable
named like one (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*API_KEY*`, ...).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from agi.dialogue.policy import mask_number

NUMBER_FIELDS = frozenset({"caller", "caller_number", "callerid", "phone", "number", "from", "to", "ani"})
_E164 = re.compile(r"(?<![\w+])\+\d{8,15}\b")
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    # "Basic" only after a header name: "a basic cheese pizza" is not a credential.
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?basic\s+)[A-Za-z0-9+/=]{6,}"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*)[^\s&,;\"']+"),
    re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+(?=@)"),  # user:password@ in URLs
)
MASK = "***"
_SECRET_NAME = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH_CODE|SIGNATURE_KEY|PRIVATE_KEY)")

_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("callticket_call_id", default=None)


@contextlib.contextmanager
def call_context(call_id: str) -> Iterator[None]:
    """Tag every log line written inside (this thread or asyncio task) with `call_id`."""
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


def current_call_id() -> str | None:
    return _call_id.get()


class Scrubber:
    """Replaces secret values and credential-looking text with `***`."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; a real secret is longer.
        new = {s for s in secrets if s and len(s) >= 4}
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | new, key=len, reverse=True))

    def known(self, value: str) -> str:
        """Every secret value this process knows, masked (the text is otherwise left as written)."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def text(self, value: str) -> str:
        """`known`, and whatever looks like a credential (bearer tokens, `password=`, URL passwords)."""
        value = self.known(value)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda m: m.group(1) + MASK, value)
        return value

    def value(self, value: Any, key: str | None = None) -> Any:
        """Scrub any JSON-like value; phone-number fields are masked by key."""
        if isinstance(value, str):
            if key is not None and key.lower() in NUMBER_FIELDS:
                return mask_number(value)
            return _E164.sub(lambda m: mask_number(m.group(0)), self.text(value))
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


SCRUBBER = Scrubber()


def add_secrets(secrets: Iterable[str]) -> None:
    """Register more secret values with the process-wide scrubber."""
    SCRUBBER.add(secrets)


def scrub(value: Any) -> Any:
    """Scrub with the process-wide scrubber (also used by call records)."""
    return SCRUBBER.value(value)


def secrets_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables named like credentials (SQUARE_ACCESS_TOKEN, ...)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8]


class ScrubbedStream(io.TextIOBase):
    """A text stream that writes whole lines with every known secret masked (the rest on flush).

    Plain output is what people read (`check-config`'s `secret x.token: env NAME
    is not set`), so only the secret values themselves are masked here, not
    what merely looks like one; log records get both (SecretFilter).
    """

    def __init__(self, inner: TextIO, scrubber: Scrubber = SCRUBBER):
        self.inner = inner
        self.scrubber = scrubber
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                done, _, self._pending = self._pending.rpartition("\n")
                self.inner.write(self.scrubber.known(done + "\n"))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(self.scrubber.known(self._pending))
                self._pending = ""
        self.inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


@contextlib.contextmanager
def scrubbed_output() -> Iterator[None]:
    """Inside: stdout and stderr (prints, tracebacks, any handler on them) pass through the scrubber."""
    add_secrets(secrets_from_env())
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbedStream(saved[0]), ScrubbedStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved


class SecretFilter(logging.Filter):
    """Scrubs the record in place, so every handler writes the clean text."""

    def __init__(self, scrubber: Scrubber = SCRUBBER):
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        record.msg = self.scrubber.value(message)
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = self.scrubber.value(fields)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrubber.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if getattr(record, "call_id", None) is None:
            record.call_id = _call_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", "call_id", ...fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None) or _call_id.get()
        if call_id:
            doc["call_id"] = call_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update({k: v for k, v in fields.items() if k not in ("ts", "level", "logger", "msg")})
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["error"] = record.exc_text.strip().splitlines()[-1]
            doc["traceback"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: `level logger [call] msg key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        call_id = getattr(record, "call_id", None) or _call_id.get()
        fields = getattr(record, "fields", None) or {}
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        call = f" [{call_id}]" if call_id else ""
        line = f"{record.levelname.lower():7} {record.name}{call} {record.getMessage()} {extra}".rstrip()
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def setup(config: Any = None, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the root logger (JSON unless the config says text).

    `config` is an `agi.config.LoggingConfig` (or None for JSON at info on
    stderr). Returns the handler, whose filter scrubs secrets.
    """
    add_secrets(secrets)
    fmt = getattr(config, "format", "json")
    level = getattr(config, "level", "info").upper()
    path: Path | None = getattr(config, "file", None)
    if path is not None and stream is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    return handler


def log_event(logger: logging.Logger, event: Any, call_id: str | None = None) -> None:
    """Write a call core `agi.events.Log` command as one structured line."""
    fields = dict(getattr(event, "fields", {}) or {})
    if call_id:
        fields["call_id"] = call_id
    logger.info(getattr(event, "event", str(event)), extra={"fields": {"event": getattr(event, "event", ""), **fields}})
