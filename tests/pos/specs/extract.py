"""Rebuild the spec extracts in this folder from the vendors' published files.

    python tests/pos/specs/extract.py ../shared/pos-specs

Square's api.json is 3 MB; the extract keeps the operations the adapter calls
and the webhook event schemas it receives, with every schema they reference,
byte-for-byte as published (nothing is edited, only unreachable parts are
left out). The Toast YAML files are small and copied whole.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent

SQUARE_OPERATIONS = {
    "/v2/catalog/list": ["get"],
    "/v2/catalog/object/{object_id}": ["get"],
    "/v2/inventory/counts/batch-retrieve": ["post"],
    "/v2/customers/search": ["post"],
    "/v2/customers": ["post"],
    "/v2/orders": ["post"],
    "/v2/orders/search": ["post"],
    "/v2/orders/{order_id}": ["get", "put"],
    "/v2/bookings": ["post"],
    "/v2/bookings/{booking_id}": ["get"],
    "/v2/bookings/{booking_id}/cancel": ["post"],
    "/v2/bookings/team-member-booking-profiles": ["get"],
}
SQUARE_EVENTS = ["CatalogVersionUpdatedEvent", "InventoryCountUpdatedEvent"]
TOAST_FILES = ["toast-orders-openapi.yaml", "toast-menus-openapi.yaml", "toast-stock-openapi.yaml",
               "toast-authentication-openapi.yaml"]


def _refs(node, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def square(src: Path) -> dict:
    spec = json.loads(src.read_text())
    paths = {p: {m: spec["paths"][p][m] for m in methods} for p, methods in SQUARE_OPERATIONS.items()}
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set(SQUARE_EVENTS)
    _refs(paths, wanted)
    done: set[str] = set()
    while wanted - done:
        name = sorted(wanted - done)[0]
        done.add(name)
        if name in schemas:  # the published file names a few schemas it never defines
            _refs(schemas[name], wanted)
    out = {k: spec[k] for k in ("openapi", "info", "servers")}
    out["components"] = {"schemas": {k: schemas[k] for k in sorted(done) if k in schemas},
                         "securitySchemes": spec["components"]["securitySchemes"]}
    out["paths"] = paths
    return out


def main(shared: Path) -> None:
    (HERE / "square").mkdir(exist_ok=True)
    (HERE / "toast").mkdir(exist_ok=True)
    extract = square(shared / "square" / "api.json")
    (HERE / "square" / "api-extract.json").write_text(json.dumps(extract, indent=1, sort_keys=True) + "\n")
    for name in TOAST_FILES:
        shutil.copyfile(shared / "toast" / name, HERE / "toast" / name)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/pos-specs"))
