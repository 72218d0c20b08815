"""Request shapes for vendors that publish no machine-readable API description.

Clover, Loyverse, Epos Now and Revel publish prose documentation, SDK model
classes and examples, but no OpenAPI file (see ../specs/ and the adapters'
README). These JSON Schemas transcribe what that material shows, field by
field, and are closed: a field not listed here is one the documentation does
not show. They are checked with jsonschema like the published specs, but they
are only as good as the documentation they come from.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_ID = {"type": "object", "properties": {"id": {"type": "string", "minLength": 1}}, "required": ["id"],
       "additionalProperties": False}

# Clover Platform v3 (docs.clover.com atomic order table; Android SDK v3 model fields).
CLOVER_ATOMIC_ORDER = {
    "type": "object", "additionalProperties": False, "required": ["orderCart"],
    "properties": {"orderCart": {
        "type": "object", "additionalProperties": False, "required": ["lineItems"],
        "properties": {
            "lineItems": {"type": "array", "minItems": 1, "maxItems": 3000, "items": {
                "type": "object", "additionalProperties": False, "required": ["item"],
                "properties": {
                    "item": _ID, "note": {"type": "string", "maxLength": 255},
                    "price": {"type": "integer"}, "name": {"type": "string"},
                    "modifications": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False, "required": ["modifier"],
                        "properties": {"modifier": _ID, "name": {"type": "string"},
                                       "amount": {"type": "integer"}}}}}}},
            "orderType": _ID, "note": {"type": "string", "maxLength": 255},
            "discounts": {"type": "array"}, "serviceCharge": {"type": "object"},
            # On Order in the SDK; accepted inside orderCart is [UNCONFIRMED], sent only when configured.
            "title": {"type": "string"}, "externalReferenceId": {"type": "string", "maxLength": 64},
            "customers": {"type": "array", "items": _ID},
        }}},
}
CLOVER_CUSTOMER = {
    "type": "object", "additionalProperties": False,
    "properties": {"firstName": {"type": "string"}, "lastName": {"type": "string"},
                   "phoneNumbers": {"type": "array", "items": {
                       "type": "object", "additionalProperties": False, "required": ["phoneNumber"],
                       "properties": {"phoneNumber": {"type": "string"}}}},
                   "emailAddresses": {"type": "array"}},
}

_MONEY = {"type": "number", "minimum": 0}

# Loyverse API v1.0 (third-party SDK components and real payload fixtures; NOTES.md section 4).
LOYVERSE_RECEIPT = {
    "type": "object", "additionalProperties": False, "required": ["store_id", "line_items", "payments"],
    "properties": {
        "store_id": {"type": "string"}, "source": {"type": "string"}, "order": {"type": "string"},
        "customer_id": {"type": "string"}, "note": {"type": "string"}, "receipt_date": {"type": "string"},
        "dining_option": {"type": "string"},  # response field; on requests [UNCONFIRMED], sent when configured
        "line_items": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["variant_id", "quantity"],
            "properties": {"variant_id": {"type": "string"}, "quantity": {"type": "number", "exclusiveMinimum": 0},
                           "price": _MONEY, "cost": _MONEY, "line_note": {"type": "string"},
                           "line_modifiers": {"type": "array", "items": {
                               "type": "object", "additionalProperties": False,
                               "required": ["modifier_option_id"],
                               "properties": {"modifier_option_id": {"type": "string"}}}}}}},
        "payments": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["payment_type_id", "money_amount"],
            "properties": {"payment_type_id": {"type": "string"}, "money_amount": _MONEY,
                           "paid_at": {"type": "string"}}}},
    },
}
LOYVERSE_CUSTOMER = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {"name": {"type": "string"}, "phone_number": {"type": "string"}, "email": {"type": "string"},
                   "note": {"type": "string"}},
}

# Epos Now API v4 Transaction (2018 request/response pair; NOTES.md section 5).
EPOSNOW_TRANSACTION = {
    "type": "object", "additionalProperties": False, "required": ["TransactionItems"],
    "properties": {
        "DateTime": {"type": "string"}, "StatusId": {"type": "integer"}, "ServiceType": {"type": "integer"},
        "ReferenceCode": {"type": "string"}, "CustomerId": {"type": "integer"},
        "IsTransactionIncTax": {"type": "boolean"},
        "TransactionItems": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["ProductId", "Quantity"],
            "properties": {"ProductId": {"type": "integer"}, "Quantity": {"type": "number"}, "UnitPrice": _MONEY,
                           "Notes": {"type": "string"},
                           "MultipleChoiceItems": {"type": "array", "items": {
                               "type": "object", "additionalProperties": False,
                               "required": ["ProductId", "Quantity"],
                               "properties": {"ProductId": {"type": "integer"}, "Quantity": {"type": "number"},
                                              "UnitPrice": _MONEY}}}}}},
        "Tenders": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["TenderTypeId", "Amount"],
            "properties": {"TenderTypeId": {"type": "integer"}, "Amount": _MONEY}}},
        "TransactionDetails": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["Name", "Value"],
            "properties": {"Name": {"type": "string"}, "Value": {"type": "string"}}}},
    },
}
EPOSNOW_CUSTOMER = {
    "type": "object", "additionalProperties": False,
    "properties": {"Forename": {"type": "string"}, "Surname": {"type": "string"},
                   "ContactNumber": {"type": "string"}},
}

# Revel weborder cart (integrator sample and hackathon code; NOTES.md section 6).
REVEL_CART = {
    "type": "object", "additionalProperties": False, "required": ["skin", "establishmentId", "items", "orderInfo"],
    "properties": {
        "skin": {"type": "string"}, "establishmentId": {"type": "integer"},
        "items": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["product", "quantity"],
            "properties": {"product": {"type": "integer"}, "quantity": {"type": "integer", "minimum": 1},
                           "price": _MONEY, "special_request": {"type": "string"},
                           "modifieritems": {"type": "array", "items": {
                               "type": "object", "additionalProperties": False, "required": ["modifier", "qty"],
                               "properties": {"modifier": {"type": "integer"}, "qty": {"type": "integer"},
                                              "qty_type": {"type": "integer"},
                                              "modifier_price": _MONEY}}}}}},
        "orderInfo": {"type": "object", "properties": {
            "dining_option": {"type": "integer"}, "asap": {"type": "boolean"}, "call_name": {"type": "string"},
            "pickup_time": {"type": "string"}, "notes": {"type": "string"}}},  # customer keys: [UNCONFIRMED]
        "paymentInfo": {"type": "object", "additionalProperties": False, "required": ["type", "amount"],
                        "properties": {"type": {"type": "integer"}, "amount": _MONEY, "tip": _MONEY}},
    },
}


def errors(schema: dict[str, Any], doc: Any) -> list[str]:
    v = jsonschema.Draft202012Validator(schema)
    return [f"body/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]
