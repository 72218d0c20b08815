"""Request validation against the vendors' published API descriptions.

- OpenAPI 3 (Square, Toast stock): openapi-core.
- Swagger 2.0 (Toast orders, menus, authentication): openapi-core does not
  read Swagger 2, so the operation's parameters are checked from the file and
  the body with jsonschema against the file's own `definitions`.

Both are *closed*: a published object schema lists every field the vendor
knows, so a field the schema does not name is reported (a misspelt field is
the most common integration bug, and an open schema would let it through).
Nothing else in the published schemas is changed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from ruamel.yaml import YAML

SPECS = Path(__file__).resolve().parents[1] / "specs"


# ------------------------------------------------------------------ OpenAPI 3

def _close_oas3(node: Any, names: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("properties") and "additionalProperties" not in node and not any(
                k in node for k in ("allOf", "oneOf", "anyOf")):
            node["additionalProperties"] = False
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in names:
            # The published Square file references a few schemas it never defines.
            del node["$ref"]
        for v in node.values():
            _close_oas3(v, names)
    elif isinstance(node, list):
        for v in node:
            _close_oas3(v, names)


class OpenApi3:
    def __init__(self, spec: dict):
        from openapi_core import Config, OpenAPI

        spec = copy.deepcopy(spec)
        _close_oas3(spec, set(spec.get("components", {}).get("schemas", {})))
        # Auth is checked by the fakes themselves (openapi-core has no oauth2 check).
        for ops in spec["paths"].values():
            for op in ops.values():
                if isinstance(op, dict):
                    op.pop("security", None)
        url = urlsplit(spec["servers"][0]["url"])
        self.server = f"{url.scheme}://{url.netloc}"  # request paths carry the server's base path
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))

    def errors(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> list[str]:
        from openapi_core.testing import MockRequest

        request = MockRequest(self.server, method.lower(), path, args=dict(query), headers=dict(headers),
                              data=body or None, content_type=headers.get("content-type", "application/json"))
        result = self.api.unmarshal_request(request)
        return [_describe(e) for e in result.errors]


def _describe(exc: Exception) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        inner = getattr(cause, "schema_errors", None)
        if inner:
            parts += [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in inner]
        else:
            parts.append(str(cause))
        cause = cause.__cause__
    return " | ".join(parts)


# ------------------------------------------------------------------ Swagger 2

def _close_swagger(node: Any, standalone: bool) -> None:
    """Add `unevaluatedProperties: false` where a schema is used on its own.

    Members of an allOf stay open (their siblings add fields); the allOf as a
    whole is closed, and so is every `$ref` used as a property or item.
    """
    if not isinstance(node, dict):
        return
    if "allOf" in node:
        for member in node["allOf"]:
            _close_swagger(member, False)
        if standalone:
            node["unevaluatedProperties"] = False
        return
    if "$ref" in node:
        if standalone:
            node["unevaluatedProperties"] = False
        return
    for prop in (node.get("properties") or {}).values():
        _close_swagger(prop, True)
    if isinstance(node.get("items"), dict):
        _close_swagger(node["items"], True)
    if isinstance(node.get("additionalProperties"), dict):
        _close_swagger(node["additionalProperties"], True)
    if standalone and node.get("properties") and "additionalProperties" not in node:
        node["unevaluatedProperties"] = False


def _swagger_types(node: Any) -> None:
    """Swagger 2's `x-nullable: true` is JSON Schema's type [T, null]."""
    if isinstance(node, dict):
        if node.get("x-nullable") and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for v in node.values():
            _swagger_types(v)
    elif isinstance(node, list):
        for v in node:
            _swagger_types(v)


class Swagger2:
    def __init__(self, spec: dict, not_required: Mapping[str, list[str]] | None = None):
        self.spec = copy.deepcopy(spec)
        _swagger_types(self.spec)
        for name, fields in (not_required or {}).items():
            for part in [self.spec["definitions"][name]] + self.spec["definitions"][name].get("allOf", []):
                part["required"] = [f for f in part.get("required", []) if f not in fields]
        for d in self.spec.get("definitions", {}).values():
            _close_swagger(d, False)
        self.base = self.spec.get("basePath", "").rstrip("/")
        self.registry = Registry().with_resource("urn:spec", Resource.from_contents(self.spec, DRAFT202012))
        self.ops = []
        for template, ops in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(self.base + template)) + "$")
            for method, op in ops.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    params = [self._param(p) for p in op.get("parameters", []) + ops.get("parameters", [])]
                    self.ops.append((pattern, method, params))

    def _param(self, p: dict) -> dict:
        if "$ref" in p:
            return self.spec["parameters"][p["$ref"].rsplit("/", 1)[1]]
        return p

    def errors(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> list[str]:
        for pattern, m, params in self.ops:
            if m == method.lower() and pattern.match(path):
                break
        else:
            return [f"{method} {path} is not an operation of the published API"]
        out = []
        lower = {k.lower(): v for k, v in headers.items()}
        for p in params:
            where = p["in"]
            if where == "header" and p.get("required") and p["name"].lower() not in lower:
                out.append(f"missing required header {p['name']}")
            if where == "query" and p.get("required") and p["name"] not in query:
                out.append(f"missing required query parameter {p['name']}")
            if where == "query" and p["name"] in query and p.get("type") == "integer" and not re.fullmatch(
                    r"-?\d+", query[p["name"]]):
                out.append(f"query parameter {p['name']} must be an integer")
            if where == "body":
                if not body:
                    if p.get("required"):
                        out.append("missing required JSON body")
                    continue
                try:
                    doc = json.loads(body)
                except ValueError as exc:
                    out.append(f"body is not JSON: {exc}")
                    continue
                schema = _rebase(copy.deepcopy(p["schema"]))
                _close_swagger(schema, True)
                validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
                out += [f"body/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))]
        known = {p["name"] for p in params if p["in"] == "query"}
        out += [f"unknown query parameter {q}" for q in query if q not in known]
        return out


def _rebase(node: Any) -> Any:
    """Point local refs of an operation's schema at the whole spec resource."""
    if isinstance(node, dict):
        return {k: ("urn:spec" + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


# ------------------------------------------------------------------ loading

@cache
def square() -> OpenApi3:
    return OpenApi3(json.loads((SPECS / "square" / "api-extract.json").read_text()))


# Two documented request forms the published Toast schemas would refuse; only
# these are relaxed, each where the documentation says so:
# - `guid` is required on every entity, the ones a POST creates included;
#   Toast's own request examples omit it (the server assigns it).
# - a Selection requires `item`, yet the same schema documents `displayName`
#   with `selectionType: SPECIAL_REQUEST` as the way to send a special
#   request, which names no menu item.
TOAST_REQUEST_RELAXED = {"ToastReference": ["guid"]}


def _toast_special_requests(spec: dict) -> None:
    selection = spec.get("definitions", {}).get("Selection")
    if selection is None:
        return
    for part in [selection] + selection.get("allOf", []):
        if "item" in part.get("required", []):
            part["required"] = [f for f in part["required"] if f != "item"]
            part["if"] = {"properties": {"selectionType": {"const": "SPECIAL_REQUEST"}},
                          "required": ["selectionType"]}
            part["else"] = {"required": ["item"]}


@cache
def toast(name: str) -> OpenApi3 | Swagger2:
    spec = YAML(typ="safe").load((SPECS / "toast" / f"toast-{name}-openapi.yaml").read_text())
    if spec.get("swagger") != "2.0":
        return OpenApi3(spec)
    _toast_special_requests(spec)
    relaxed = {k: v for k, v in TOAST_REQUEST_RELAXED.items() if k in spec.get("definitions", {})}
    return Swagger2(spec, relaxed)


def square_schema(name: str) -> dict:
    """A Square component schema as plain JSON Schema (for webhook event payloads)."""
    spec = json.loads((SPECS / "square" / "api-extract.json").read_text())
    return {"$ref": f"urn:square#/components/schemas/{name}"}, Registry().with_resource(
        "urn:square", Resource.from_contents(spec, DRAFT202012))  # type: ignore[return-value]


def query_string(query: Mapping[str, str]) -> str:
    return urlencode(query)
