"""The POS-neutral ticket: an order, a booking, a work order or a reservation.

Prices on a ticket always come from the catalog (`price_ticket`), never from
what the caller said. `Ticket.to_public()` is the `ticket` object of the
`simulate --json` contract in DESIGN.md.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agi.catalog import Catalog


class Qualifier(str, Enum):
    """How a modifier applies: 'extra cheese', 'light sauce', 'no onions'..."""

    NORMAL = "normal"
    EXTRA = "extra"
    LIGHT = "light"
    NO = "no"
    SIDE = "on_the_side"
    SWAP = "swap"


class TicketKind(str, Enum):
    ORDER = "order"
    BOOKING = "booking"
    WORK_ORDER = "work_order"
    RESERVATION = "reservation"


class FulfillmentType(str, Enum):
    PICKUP = "pickup"
    DELIVERY = "delivery"
    DINE_IN = "dine_in"


class PaymentIntent(str, Enum):
    PAY_AT_PICKUP = "pay_at_pickup"
    PAY_ON_DELIVERY = "pay_on_delivery"
    PREPAID = "prepaid"
    DEPOSIT = "deposit"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineModifier(_Model):
    catalog_id: str
    name: str
    quantity: int = Field(1, ge=1)
    qualifier: Qualifier = Qualifier.NORMAL
    replaces: str | None = Field(None, description="catalog id of the default this one swaps out")
    price_minor: int = 0
    group_id: str | None = None


class OrderLine(_Model):
    catalog_id: str
    name: str
    quantity: int = Field(1, ge=1)
    variation_id: str | None = None
    variation_name: str | None = None
    modifiers: list[LineModifier] = Field(default_factory=list)
    unit_price_minor: int = 0
    notes: str = ""
    confidence: float = Field(1.0, ge=0.0, le=1.0)

    def line_total(self) -> int:
        mods = sum(m.price_minor * m.quantity for m in self.modifiers)
        return self.quantity * (self.unit_price_minor + mods)

    def describe(self, language: str = "en") -> str:
        """'2 large pepperoni pizza, extra cheese, no onions' (for read-backs and staff)."""
        head = f"{self.quantity} {self.variation_name + ' ' if self.variation_name else ''}{self.name}"
        parts = [head]
        for m in self.modifiers:
            parts.append(_describe_modifier(m))
        return ", ".join(parts)


def _describe_modifier(m: LineModifier) -> str:
    prefix = {
        Qualifier.NORMAL: "",
        Qualifier.EXTRA: "extra ",
        Qualifier.LIGHT: "light ",
        Qualifier.NO: "no ",
        Qualifier.SIDE: "",
        Qualifier.SWAP: "",
    }[m.qualifier]
    text = f"{prefix}{m.name}"
    if m.qualifier is Qualifier.SIDE:
        text += " on the side"
    if m.qualifier is Qualifier.SWAP and m.replaces:
        text += " instead of " + m.replaces.replace("_", " ")
    if m.quantity > 1:
        text = f"{m.quantity} {text}"
    return text


class Fulfillment(_Model):
    type: FulfillmentType = FulfillmentType.PICKUP
    time: str | None = Field(None, description="HH:MM local, or ISO datetime for later days")
    address: str | None = None


class Customer(_Model):
    name: str | None = None
    phone: str | None = None


class Ticket(_Model):
    kind: TicketKind = TicketKind.ORDER
    items: list[OrderLine] = Field(default_factory=list)
    fulfillment: Fulfillment | None = None
    customer: Customer = Field(default_factory=Customer)
    slots: dict[str, Any] = Field(default_factory=dict)
    notes: str = ""
    payment: PaymentIntent = PaymentIntent.PAY_AT_PICKUP
    total_minor: int = 0
    currency: str = "USD"
    business: str = ""
    language: str = "en"
    channel: str = "Phone"

    def to_public(self) -> dict[str, Any]:
        """The `ticket` object of the simulate contract (DESIGN.md)."""
        return {
            "kind": self.kind.value,
            "items": [
                {
                    "catalog_id": line.catalog_id,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                    "variation": (
                        {"catalog_id": line.variation_id, "name": line.variation_name} if line.variation_id else None
                    ),
                    "modifiers": [
                        {
                            "catalog_id": m.catalog_id,
                            "name": m.name,
                            "quantity": m.quantity,
                            "price_minor": m.price_minor,
                            "qualifier": m.qualifier.value,
                        }
                        for m in line.modifiers
                    ],
                }
                for line in self.items
            ],
            "fulfillment": (
                {
                    "type": self.fulfillment.type.value,
                    "time": self.fulfillment.time,
                    "address": self.fulfillment.address,
                }
                if self.fulfillment
                else None
            ),
            "customer": {"name": self.customer.name, "phone": self.customer.phone},
            "slots": dict(self.slots),
            "total_minor": self.total_minor,
            "currency": self.currency,
        }

    def summary(self) -> str:
        """One line for the person who takes a transferred call."""
        if self.items:
            body = "; ".join(line.describe() for line in self.items)
        else:
            body = ", ".join(f"{k}={v}" for k, v in self.slots.items()) or "nothing yet"
        return f"{self.kind.value}: {body}; total {format_money(self.total_minor, self.currency)}"


def modifier_price(delta: int, qualifier: Qualifier) -> int:
    """What one unit of a modifier adds to the line.

    'no X' and 'X on the side' cost what the catalog says for X removed or
    served apart: nothing is charged for removing, the normal delta otherwise;
    'extra' is charged twice the delta because the kitchen puts on a double
    portion, 'light' is charged normally (POS convention: no refund).
    """
    if qualifier is Qualifier.NO:
        return 0
    if qualifier is Qualifier.EXTRA:
        return 2 * delta
    return delta


def price_ticket(ticket: Ticket, catalog: Catalog) -> Ticket:
    """Recompute every price and the total from the catalog."""
    lines = []
    for line in ticket.items:
        item = catalog.item(line.catalog_id)
        if item is None:
            lines.append(line)
            continue
        mods = []
        for m in line.modifiers:
            found = catalog.modifier(item, m.catalog_id)
            delta = found[1].price_delta if found else 0
            mods.append(m.model_copy(update={"price_minor": modifier_price(delta, m.qualifier)}))
        lines.append(
            line.model_copy(update={"unit_price_minor": item.base_price(line.variation_id), "modifiers": mods})
        )
    total = sum(line.line_total() for line in lines)
    deposit = ticket.slots.get("deposit_minor")
    if not lines and isinstance(deposit, int):
        total = deposit
    return ticket.model_copy(update={"items": lines, "total_minor": total, "currency": catalog.currency})


_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "EUR": "€", "GBP": "£", "MXN": "$"}


def format_money(minor: int, currency: str = "USD") -> str:
    """12.99 style text for logs and read-backs (speech has its own wording)."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{_SYMBOLS.get(currency, currency + ' ')}{minor // 100}.{minor % 100:02d}"


Outcome = Literal["committed", "transferred", "hung_up", "refused"]
