"""The Playbook: everything a business decides about its calls, in one YAML file.

Behaviour only (greeting, hours, slots, rules, voice, which POS); the catalog
comes from the POS adapter. `load_playbook()` reports every problem as
`file:line: field: message` through `agi.yamlconf.ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from agi.catalog import Catalog, load_catalog
from agi.dialogue.state import Asking
from agi.dialstrings import Pbx, dial_problem, mailbox_problem
from agi.tickets import FulfillmentType, TicketKind
from agi.yamlconf import ConfigError, Problem, check_refs, read_yaml, load_model

LANGUAGES = ("en", "es", "zh")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


# How a Spanish or Chinese caller hears choices Playbooks commonly offer; a
# Playbook says its own with `choice_labels:` on the slot.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "morning": {"es": "mañana", "zh": "上午"},
    "afternoon": {"es": "tarde", "zh": "下午"},
    "evening": {"es": "noche", "zh": "傍晚"},
    "phone": {"es": "teléfono", "zh": "手机"},
    "tablet": {"es": "tableta", "zh": "平板"},
    "laptop": {"es": "portátil", "zh": "笔记本电脑"},
    "desktop": {"es": "computadora de escritorio", "zh": "台式机"},
    "console": {"es": "consola", "zh": "游戏机"},
    "smartwatch": {"es": "reloj inteligente", "zh": "智能手表"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A phrase per language; `en` is the fallback."""

    en: str
    es: str | None = None
    zh: str | None = None

    def get(self, language: str) -> str:
        return getattr(self, language, None) or self.en


def _check_range(value: str) -> str:
    m = _RANGE.match(value)
    if not m:
        raise ValueError(f"'{value}' is not HH:MM-HH:MM")
    if (m.group(1), m.group(2)) >= (m.group(3), m.group(4)):
        raise ValueError(f"'{value}' ends before it starts")
    return value


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HoursRange = Annotated[str, AfterValidator(_check_range)]


class Business(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    timezone: str = "UTC"
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    languages: list[Literal["en", "es", "zh"]] = Field(default_factory=lambda: ["en"], min_length=1)
    hours: dict[Day, list[HoursRange]] = Field(default_factory=dict, description="day -> ['11:00-22:00', ...]")
    address: str = ""
    delivery_area: list[str] = Field(default_factory=list, description="postcodes or town names served")
    delivery_area_text: str = ""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def open_ranges(self, day_index: int) -> list[tuple[time, time]]:
        out = []
        for r in self.hours.get(DAYS[day_index], []):
            a, b = r.split("-")
            end = time(23, 59) if b == "24:00" else time.fromisoformat(b)
            out.append((time.fromisoformat(a), end))
        return out

    def is_open(self, when: datetime) -> bool:
        """True when `when` (aware) falls inside the hours; no hours means always open."""
        if not self.hours:
            return True
        local = when.astimezone(self.tz)
        return any(a <= local.time() < b for a, b in self.open_ranges(local.weekday()))


class PosBinding(_Strict):
    adapter: Literal["local", "square", "clover", "toast", "loyverse", "eposnow", "revel"] = "local"
    catalog: str | None = Field(None, description="local catalog file, relative to the Playbook")
    location: str = "main"
    refresh_s: int = Field(60, ge=5)
    channel: str = "Phone"
    settings: dict[str, str] = Field(default_factory=dict, description="non-secret merchant settings")

    @model_validator(mode="after")
    def _local_needs_catalog(self) -> "PosBinding":
        if self.adapter == "local" and not self.catalog:
            raise ValueError("the local POS needs 'catalog: <file>'")
        return self


class Persona(_Strict):
    engine: Literal["espeak-ng", "flite", "piper"] = "espeak-ng"
    voice: str = "en-us"
    variant: str | None = None
    rate: int = Field(165, ge=80, le=450)
    pitch: int = Field(50, ge=0, le=99)
    voices: dict[str, str] = Field(default_factory=dict, description="voice per language")


SlotType = Literal[
    "fulfillment", "time", "name", "phone", "address", "text", "choice", "date", "datetime", "number", "service", "staff"
]


class SlotSpec(_Strict):
    """One thing to collect before the read-back."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: SlotType = "text"
    required: bool = True
    prompt: Text | None = None
    label: Text | None = Field(None, description="how the read-back names this slot")
    choices: list[str] = Field(default_factory=list, description="for type 'choice'")
    synonyms: dict[str, list[str]] = Field(default_factory=dict, description="choice -> other spoken forms")
    choice_labels: dict[str, Text] = Field(
        default_factory=dict, description="choice -> how the bot says it per language (the ticket keeps the choice)"
    )
    when: dict[str, str] = Field(default_factory=dict, description="only ask when other slots hold these values")
    min: int | None = None
    max: int | None = None

    @field_validator("id")
    @classmethod
    def _not_a_dialogue_question(cls, value: str) -> str:
        if value in {a.value for a in Asking}:
            raise ValueError(f"'{value}' is a name the dialogue keeps for its own question; call the slot otherwise")
        return value

    @field_validator("max")
    @classmethod
    def _min_le_max(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min")
        if value is not None and low is not None and low > value:
            raise ValueError(f"min ({low}) is greater than max ({value})")
        return value

    @model_validator(mode="after")
    def _choices(self) -> "SlotSpec":
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' slot needs 'choices'")
        unknown = sorted(set(self.choice_labels) - set(self.choices))
        if unknown:
            raise ValueError(f"choice_labels name {', '.join(unknown)}, not among the choices")
        return self

    def choice_text(self, choice: str, language: str) -> str:
        """A choice as the bot says it: the Playbook's label, else a common
        one ('afternoon' -> 'tarde', '下午'), else the choice itself."""
        label = self.choice_labels.get(choice)
        if label is not None:
            return label.get(language)
        return CHOICE_LABELS.get(choice.lower(), {}).get(language, choice)


class StaffMember(_Strict):
    id: str
    name: str
    services: list[str] = Field(default_factory=list, description="catalog item ids; empty means all")


class Schedule(_Strict):
    """How bookings and reservations are placed in time."""

    slot_minutes: int = Field(30, ge=5)
    lead_minutes: int = Field(60, ge=0, description="earliest start, from now")
    horizon_days: int = Field(30, ge=1)
    staff: list[StaffMember] = Field(default_factory=list)


class Deposit(_Strict):
    amount_minor: int = Field(ge=0)
    per: Literal["booking", "night"] = "booking"
    text: Text | None = None


class TicketSpec(_Strict):
    kind: TicketKind = TicketKind.ORDER
    items: bool = Field(True, description="does the caller order catalog items")
    service_category: str | None = Field(None, description="catalog category offered as services")
    fulfillment: list[FulfillmentType] = Field(default_factory=lambda: [FulfillmentType.PICKUP])
    slots: list[SlotSpec] = Field(default_factory=list)
    min_lead_minutes: int = Field(15, ge=0)
    max_quantity: int = Field(50, ge=1, description="a line above this is treated as a prank")
    deposit: Deposit | None = None

    @model_validator(mode="after")
    def _unique_slots(self) -> "TicketSpec":
        seen = set()
        for s in self.slots:
            if s.id in seen:
                raise ValueError(f"duplicate slot id '{s.id}'")
            seen.add(s.id)
        return self


class Upsell(_Strict):
    id: str
    when_category: str | None = None
    unless_category: str | None = None
    offer: str = Field(description="catalog item id")
    prompt: Text


def _dialable(value: str | None) -> str | None:
    """A dial string one of the PBXs can dial (which one serves is the worker config's business)."""
    if value is not None:
        problems = [dial_problem(pbx, value) for pbx in Pbx]
        if all(problems):
            raise ValueError(f"neither PBX can dial it: {'; '.join(p for p in problems if p)}")
    return value


def _mailbox(value: str | None) -> str | None:
    problem = mailbox_problem(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


class PbxDial(_Strict):
    """One PBX's own strings for a target."""

    pbx: ClassVar[Pbx]
    dial: str = Field(min_length=1)
    fallback: str | None = None
    voicemail: str | None = None

    @field_validator("dial", "fallback")
    @classmethod
    def _this_pbx_dials_it(cls, value: str | None) -> str | None:
        problem = dial_problem(cls.pbx, value) if value is not None else None
        if problem:
            raise ValueError(f"{cls.pbx.label} cannot dial it: {problem}")
        return value

    _voicemail = field_validator("voicemail")(_mailbox)


class AsteriskDial(PbxDial):
    pbx: ClassVar[Pbx] = Pbx.ASTERISK


class FreeswitchDial(PbxDial):
    pbx: ClassVar[Pbx] = Pbx.FREESWITCH


class TransferTargetSpec(_Strict):
    """A person or queue to hand callers to. `dial`, `fallback` and `voicemail`
    serve every PBX without an entry of its own; `asterisk:` / `freeswitch:`
    give a PBX its own, since the two dial different strings (PJSIP/100 on
    Asterisk is user/1000 on FreeSWITCH)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    dial: str | None = Field(None, min_length=1,
                             description="PBX dial string: PJSIP/100, Queue(...), user/1000, sofia/gateway/...")
    fallback: str | None = None
    voicemail: str | None = None
    timeout_s: int = Field(25, ge=5, le=120)
    asterisk: AsteriskDial | None = None
    freeswitch: FreeswitchDial | None = None

    _common_dial = field_validator("dial", "fallback")(_dialable)
    _common_voicemail = field_validator("voicemail")(_mailbox)

    @model_validator(mode="after")
    def _something_to_dial(self) -> TransferTargetSpec:
        if self.dial is None and self.asterisk is None and self.freeswitch is None:
            raise ValueError("a target needs 'dial', or 'asterisk:' / 'freeswitch:' entries with their own")
        return self

    def per_pbx(self) -> tuple[tuple[str, str, str | None, str | None], ...]:
        """The PBXs' own strings, as the call core hands them to the drivers (ev.TransferTarget)."""
        return tuple((own.pbx.value, own.dial, own.fallback, own.voicemail)
                     for own in (self.asterisk, self.freeswitch) if own is not None)

    def problems_on(self, pbx: Pbx) -> list[tuple[tuple[str, ...], str]]:
        """(field, why) for what `pbx` could not dial of this target (check-config)."""
        if getattr(self, pbx.value) is not None:
            return []  # checked for that PBX when the Playbook was loaded
        if not self.dial:
            return [((), f"no dial string for {pbx.label}: give the target 'dial' or a '{pbx.value}:' entry")]
        out = []
        for name in ("dial", "fallback"):
            value = getattr(self, name)
            problem = dial_problem(pbx, value) if value else None
            if problem:
                out.append(((name,), f"{pbx.label} cannot dial it: {problem}; give the target a '{pbx.value}:' entry"))
        return out


class Escalation(_Strict):
    targets: list[TransferTargetSpec] = Field(min_length=1)
    default_target: str
    large_order_minor: int | None = Field(None, ge=0)
    vip_numbers: list[str] = Field(default_factory=list)
    vip_target: str | None = None
    max_misunderstandings: int = Field(3, ge=1)
    silence_timeout_s: float = Field(8.0, gt=0)
    max_silences: int = Field(2, ge=1)
    out_of_scope: list[str] = Field(default_factory=list, description="phrases that go to a person")
    urgent: list[str] = Field(default_factory=list, description="phrases that go to a person at once (clinic)")
    urgent_target: str | None = None
    out_of_scope_target: str | None = None

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: list[TransferTargetSpec]) -> list[TransferTargetSpec]:
        ids = [t.id for t in targets]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate target id '{dup[0]}'")
        return targets

    @field_validator("default_target", "vip_target", "urgent_target", "out_of_scope_target")
    @classmethod
    def _known(cls, name: str | None, info: ValidationInfo) -> str | None:
        ids = [t.id for t in info.data.get("targets", [])]
        if name is not None and ids and name not in ids:
            raise ValueError(f"target '{name}' is not in targets ({', '.join(ids)})")
        return name

    def target(self, target_id: str | None = None) -> TransferTargetSpec:
        wanted = target_id or self.default_target
        return next(t for t in self.targets if t.id == wanted)

    def problems_on(self, pbx: Pbx) -> list[tuple[tuple[str | int, ...], str]]:
        """(location in the Playbook, why) for each target string `pbx` cannot dial."""
        return [(("escalation", "targets", i, *where), message)
                for i, target in enumerate(self.targets) for where, message in target.problems_on(pbx)]


class Abuse(_Strict):
    profanity: list[str] = Field(default_factory=list, description="added to the built-in list")
    blocked_numbers: list[str] = Field(default_factory=list)
    max_hangups_per_hour: int = Field(3, ge=1, description="from here on, a caller is asked to press 1 first")
    max_nonsense: int = Field(3, ge=1)


class WhenClosed(_Strict):
    action: Literal["future_order", "transfer", "refuse"] = "future_order"


class SpeechTuning(_Strict):
    end_silence_ms: int = Field(600, ge=200, le=3000)
    min_speech_ms: int = Field(200, ge=60)
    max_utterance_ms: int = Field(15000, ge=2000)


class Playbook(_Strict):
    business: Business
    pos: PosBinding
    persona: Persona = Persona()
    greeting: Text
    ticket: TicketSpec = TicketSpec()
    upsell: list[Upsell] = Field(default_factory=list)
    escalation: Escalation
    abuse: Abuse = Abuse()
    when_closed: WhenClosed = WhenClosed()
    speech: SpeechTuning = SpeechTuning()
    faq: dict[str, Text] = Field(default_factory=dict, description="topic -> answer (parking, allergens...)")
    schedule: Schedule = Schedule()


class LoadedPlaybook:
    """A validated Playbook with the catalog it was checked against.

    `live`, when set, gives the catalog as it is now (a vendor POS's catalog
    in the catalog store, changed by webhooks and refreshes); calls read it
    through `current_catalog()` on every turn. Without it (a local catalog
    file) the catalog is the one loaded with the Playbook.
    """

    def __init__(self, path: Path, playbook: Playbook, catalog: Catalog,
                 live: Callable[[], Catalog] | None = None):
        self.path = path
        self.playbook = playbook
        self.catalog = catalog
        self.live = live

    @property
    def id(self) -> str:
        return self.playbook.business.id

    def current_catalog(self) -> Catalog:
        return self.live() if self.live is not None else self.catalog


def _catalog_path(path: Path, playbook: Playbook) -> Path | None:
    if playbook.pos.catalog is None:
        return None
    return (path.parent / playbook.pos.catalog).resolve()


def reference_problems(playbook: Playbook, catalog: Catalog) -> list[tuple[tuple[str | int, ...], str]]:
    """Playbook fields that name catalog items or categories that do not exist."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    categories = {i.category for i in catalog.items}
    for i, rule in enumerate(playbook.upsell):
        if catalog.item(rule.offer) is None:
            out.append((("upsell", i, "offer"), f"unknown catalog item '{rule.offer}'"))
        for key in ("when_category", "unless_category"):
            cat = getattr(rule, key)
            if cat is not None and cat not in categories:
                out.append((("upsell", i, key), f"unknown catalog category '{cat}'"))
    ids = [u.id for u in playbook.upsell]
    for i, rule in enumerate(playbook.upsell):
        if ids.index(rule.id) != i:
            out.append((("upsell", i, "id"), f"duplicate upsell id '{rule.id}'"))
    sc = playbook.ticket.service_category
    if sc is not None and sc not in categories:
        out.append((("ticket", "service_category"), f"unknown catalog category '{sc}'"))
    for si, staff in enumerate(playbook.schedule.staff):
        for vi, sid in enumerate(staff.services):
            if catalog.item(sid) is None:
                out.append((("schedule", "staff", si, "services", vi), f"unknown catalog item '{sid}'"))
    if playbook.business.currency != catalog.currency:
        out.append(
            (("business", "currency"), f"'{playbook.business.currency}' differs from the catalog's '{catalog.currency}'")
        )
    return out


def load_playbook(path: str | Path, catalog: Catalog | None = None) -> LoadedPlaybook:
    """Load and cross-check a Playbook; the local catalog is read unless given."""
    path = Path(path)
    playbook = load_model(path, Playbook)
    problems: list[Problem] = []
    if catalog is None:
        cpath = _catalog_path(path, playbook)
        if cpath is None:
            raise ConfigError([Problem(str(path), 0, "pos.catalog", "no catalog to check against")])
        try:
            catalog = load_catalog(cpath)
        except ConfigError as exc:
            # The catalog's own problems name the catalog file and its lines.
            problems.extend(exc.problems)
    if catalog is not None:
        refs = reference_problems(playbook, catalog)
        problems.extend(check_refs(path, read_yaml(path), refs))
    if problems:
        raise ConfigError(problems)
    assert catalog is not None
    return LoadedPlaybook(path, playbook, catalog)


def check_playbook(path: str | Path) -> Playbook:
    """The schema, and the references against the local catalog file when there is one.

    A Playbook bound to a vendor POS has no catalog file: its catalog is the
    vendor's, fetched and checked where the workers load it (agi.vendor_catalogs).
    """
    playbook = load_model(Path(path), Playbook)
    if playbook.pos.catalog is None:  # only a vendor POS may leave it out (PosBinding)
        return playbook
    return load_playbook(path).playbook

