"""Ticket details every adapter needs in the same form: names, times, notes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from adapters.base import ConfigurationError
from agi.logs import add_secrets
from agi.tickets import LineModifier, OrderLine, Qualifier, Ticket, TicketKind

_QUALIFIER_WORDS = {
    Qualifier.EXTRA: "extra {}",
    Qualifier.LIGHT: "light {}",
    Qualifier.NO: "no {}",
    Qualifier.SIDE: "{} on the side",
}


class Settings:
    """A merchant's non-secret settings (Playbook `pos.settings`) and secrets from env vars."""

    def __init__(self, vendor: str, values: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
                 secrets: Mapping[str, str] | None = None):
        self.vendor = vendor
        self.values = dict(values or {})
        self.env = os.environ if env is None else env
        self.secrets = dict(secrets or {})  # credential name -> value, resolved by the worker config

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return default if value in (None, "") else str(value)

    def require(self, key: str, why: str = "") -> str:
        value = self.get(key)
        if value is None:
            raise ConfigurationError(f"{self.vendor}: pos.settings.{key} is required{' (' + why + ')' if why else ''}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(f"{self.vendor}: pos.settings.{key} must be true or false, not {value!r}")

    def number(self, key: str, default: float) -> float:
        value = self.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise ConfigurationError(f"{self.vendor}: pos.settings.{key} must be a number, not {value!r}") from None

    def secret(self, name: str, default_env: str, required: bool = True) -> str | None:
        """A credential: given by the worker config, else from the env var named by
        settings `<name>_env` (default `default_env`). Never from the settings themselves."""
        value = self.secrets.get(name)
        if not value:
            var = self.get(f"{name}_env", default_env)
            value = self.env.get(var)
            if not value and required:
                raise ConfigurationError(f"{self.vendor}: environment variable {var} is not set ({name})")
        if value:
            add_secrets([value])  # whatever the vendor echoes back, no output of ours repeats it
        return value or None

    def mapping(self, prefix: str) -> dict[str, str]:
        """Settings `prefix.<name>: value` as {name: value} (e.g. tender.cash: 46244)."""
        return {k[len(prefix) + 1:]: v for k, v in self.values.items() if k.startswith(prefix + ".")}


def split_name(name: str | None) -> tuple[str, str]:
    parts = (name or "").strip().split()
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def national_number(phone: str | None) -> str:
    """+15551234567 -> 5551234567 (NANP); other numbers keep their digits."""
    digits = phone_digits(phone)
    if phone and phone.startswith("+1") and len(digits) == 11:
        return digits[1:]
    return digits


def modifier_note(m: LineModifier) -> str | None:
    """What the kitchen must read for a qualified modifier ('no onions')."""
    if m.qualifier in _QUALIFIER_WORDS:
        return _QUALIFIER_WORDS[m.qualifier].format(m.name)
    if m.qualifier is Qualifier.SWAP and m.replaces:
        return f"{m.name} instead of {m.replaces.replace('_', ' ')}"
    return None


def sent_modifiers(line: OrderLine) -> list[LineModifier]:
    """Modifiers that become POS modifier selections ('no X' is a note, not a selection)."""
    return [m for m in line.modifiers if m.qualifier is not Qualifier.NO]


def line_note(line: OrderLine) -> str:
    parts = [n for n in (modifier_note(m) for m in line.modifiers) if n]
    if line.notes:
        parts.append(line.notes)
    return "; ".join(parts)


def modifier_quantity(m: LineModifier) -> int:
    """Units of a modifier for POSes without price overrides: 'extra' is a double portion."""
    return m.quantity * (2 if m.qualifier is Qualifier.EXTRA else 1)


def unit_modifier_price(m: LineModifier) -> int:
    """Price of one selected unit when the POS takes the quantity from `modifier_quantity`."""
    q = 2 if m.qualifier is Qualifier.EXTRA else 1
    return m.price_minor // q if m.price_minor % q == 0 else m.price_minor


@dataclass(frozen=True)
class When:
    asap: bool
    at: datetime | None  # aware, in the business timezone


def fulfillment_time(ticket: Ticket, tz: ZoneInfo, now: datetime | None = None) -> When:
    """'18:30' (today, business time) or an ISO datetime; None means as soon as possible."""
    raw = ticket.fulfillment.time if ticket.fulfillment else ticket.slots.get("start")
    if not raw:
        return When(True, None)
    raw = str(raw)
    if re.fullmatch(r"\d{1,2}:\d{2}", raw):
        hh, mm = (int(x) for x in raw.split(":"))
        now = (now or datetime.now(tz)).astimezone(tz)
        at = datetime.combine(now.date(), dtime(hh, mm), tz)
        if at < now - timedelta(hours=1):  # "7:00" said at 23:00 means tomorrow
            at += timedelta(days=1)
        return When(False, at)
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return When(True, None)
    return When(False, at if at.tzinfo else at.replace(tzinfo=tz))


def rfc3339(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def order_note(ticket: Ticket, channel: str) -> str:
    """One human line for POSes without structured fields for these details."""
    parts = [channel.upper()]
    if ticket.customer.name or ticket.customer.phone:
        parts.append(" ".join(p for p in (ticket.customer.name, ticket.customer.phone) if p))
    if ticket.fulfillment is not None:
        f = ticket.fulfillment
        parts.append(f.type.value.replace("_", " ") + (f" {f.time}" if f.time else " asap"))
        if f.address:
            parts.append(f.address)
    if ticket.kind is not TicketKind.ORDER and ticket.slots:
        parts.append(ticket.kind.value.replace("_", " ") + ": " +
                     ", ".join(f"{k}={v}" for k, v in ticket.slots.items() if k != "deposit_minor"))
    parts.append(ticket.payment.value.replace("_", " "))
    if ticket.notes:
        parts.append(ticket.notes)
    return " · ".join(parts)
