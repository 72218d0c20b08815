"""A fake Epos Now v4: Basic auth, decimal prices, ReferenceCode echoed as null."""

from __future__ import annotations

import base64
import itertools
from decimal import Decimal

from starlette.responses import JSONResponse, Response

from pos_fakes import documented
from pos_fakes.server import FakeVendor, Seen

KEY, SECRET = "epos-key", "epos-secret"
PAGE = 200


class FakeEposNow(FakeVendor):
    name = "eposnow"

    def __init__(self) -> None:
        super().__init__()
        self.products = [
            {"Id": 14944172, "Name": "Fish and Chips", "SalePrice": 9.59, "EatOutPrice": 8.99, "IsArchived": False,
             "SellOnTill": True, "IsVariablePrice": False, "CategoryId": 7},
            {"Id": 14944081, "Name": "Mushy Peas", "SalePrice": 1.8, "EatOutPrice": 1.8, "IsArchived": False,
             "SellOnTill": True, "IsVariablePrice": False, "CategoryId": 8},
            {"Id": 14944090, "Name": "Old Pie", "SalePrice": 4.0, "EatOutPrice": 4.0, "IsArchived": True,
             "SellOnTill": True, "IsVariablePrice": False},
        ] + [{"Id": 20000000 + n, "Name": f"Filler {n}", "SalePrice": 1.0, "EatOutPrice": 1.0,
              "IsArchived": False, "SellOnTill": True, "IsVariablePrice": False} for n in range(PAGE)]
        self.stocks = [{"ProductId": 14944081, "CurrentStock": 0}]
        self.customers: list[dict] = []
        self.transactions: list[dict] = []
        self._ids = itertools.count(5000)
        self.route("GET", "/Product", self.paged(lambda: self.products))
        self.route("GET", "/Inventory/stocks", lambda s: JSONResponse(self.stocks))
        self.route("GET", "/Customer", self.customer_search)
        self.route("POST", "/Customer", self.customer_create)
        self.route("POST", "/Transaction", self.create)
        self.route("GET", "/Transaction", self.paged(lambda: list(reversed(self.transactions))))
        self.route("DELETE", "/Transaction/{tid}", self.delete)

    def paged(self, rows):
        def handler(seen: Seen) -> Response:
            page = int(seen.query.get("page", "1"))
            return JSONResponse(rows()[(page - 1) * PAGE: page * PAGE])
        return handler

    def auth_error(self, seen: Seen) -> Response | None:
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            return JSONResponse({"Message": "Authorization has been denied for this request."}, status_code=401)
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        if seen.method == "POST" and seen.path == "/Transaction":
            return documented.errors(documented.EPOSNOW_TRANSACTION, seen.json())
        if seen.method == "POST" and seen.path == "/Customer":
            return documented.errors(documented.EPOSNOW_CUSTOMER, seen.json())
        return []

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse({"Message": message}, status_code=status)

    def customer_search(self, seen: Seen) -> Response:
        term = seen.query.get("search", "")
        return JSONResponse([c for c in self.customers if c["ContactNumber"] == term])

    def customer_create(self, seen: Seen) -> Response:
        c = {**seen.json(), "Id": next(self._ids)}
        self.customers.append(c)
        return JSONResponse(c)

    def create(self, seen: Seen) -> Response:
        body = seen.json()
        known = {p["Id"] for p in self.products if not p["IsArchived"]}
        total = Decimal(0)
        for item in body["TransactionItems"]:
            if item["ProductId"] not in known:
                return JSONResponse({"Message": f"Product {item['ProductId']} not found"}, status_code=400)
            unit = Decimal(str(item["UnitPrice"]))
            for mc in item.get("MultipleChoiceItems", []):
                unit += Decimal(str(mc["UnitPrice"])) * Decimal(str(mc["Quantity"]))
            total += unit * Decimal(str(item["Quantity"]))
        t = {**body, "Id": next(self._ids), "Device": "API", "TotalAmount": float(total),
             "ReferenceCode": None}  # as in the recorded sample: sent, but not echoed
        with self.lock:
            self.transactions.append(t)
        return JSONResponse(t)

    def delete(self, seen: Seen, tid: str) -> Response:
        before = len(self.transactions)
        self.transactions = [t for t in self.transactions if str(t["Id"]) != tid]
        return JSONResponse({}) if len(self.transactions) < before else self.error_response(404, "not found")
