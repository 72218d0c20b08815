"""Tickets as the dialogue produces them, for the contract tests."""

from __future__ import annotations

from agi.tickets import (
    Customer,
    Fulfillment,
    FulfillmentType,
    LineModifier,
    OrderLine,
    PaymentIntent,
    Qualifier,
    Ticket,
    TicketKind,
)


def mod(catalog_id: str, name: str, price: int, qualifier: Qualifier = Qualifier.NORMAL, quantity: int = 1,
        group: str | None = None) -> LineModifier:
    return LineModifier(catalog_id=catalog_id, name=name, price_minor=price, qualifier=qualifier,
                        quantity=quantity, group_id=group)


def line(catalog_id: str, name: str, unit: int, quantity: int = 1, variation: tuple[str, str] | None = None,
         modifiers: list[LineModifier] | None = None, notes: str = "") -> OrderLine:
    return OrderLine(catalog_id=catalog_id, name=name, quantity=quantity, unit_price_minor=unit,
                     variation_id=variation[0] if variation else None,
                     variation_name=variation[1] if variation else None, modifiers=modifiers or [], notes=notes)


def order(lines: list[OrderLine], *, kind: FulfillmentType = FulfillmentType.PICKUP, time: str | None = "18:30",
          address: str | None = None, name: str = "Ann Lee", phone: str = "+15551234567",
          payment: PaymentIntent = PaymentIntent.PAY_AT_PICKUP, currency: str = "USD") -> Ticket:
    t = Ticket(kind=TicketKind.ORDER, items=lines, fulfillment=Fulfillment(type=kind, time=time, address=address),
               customer=Customer(name=name, phone=phone), payment=payment, currency=currency)
    return t.model_copy(update={"total_minor": sum(li.line_total() for li in lines)})


def booking(service_id: str, service: str, price: int, staff: str, start: str) -> Ticket:
    return Ticket(kind=TicketKind.BOOKING, items=[line(service_id, service, price)], fulfillment=None,
                  customer=Customer(name="Tom", phone="+17185550102"),
                  slots={"service": service, "staff": staff, "start": start}, total_minor=price)
