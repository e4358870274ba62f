"""The API reference (`/api/docs`): the published OpenAPI document as a page of this site.

Rendered on the server from `app.openapi()`, with the dashboard's own stylesheet and no
script: it works offline and under the same Content-Security-Policy as every page, and
says the same as /api/openapi.json because it is made from it. No sign-in is needed, as
for /api/openapi.json: it shows no data, only what the API accepts.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from agentdeck.web.pages.templating import PageRoute, page
from agentdeck.web.safe_html import markdown_html
from agentdeck.web.sessions import load_session

router = APIRouter(tags=["dashboard"], include_in_schema=False, route_class=PageRoute)

METHODS = ("get", "post", "put", "patch", "delete")
# the JSON Schema keywords that state a rule, shown beside each field in this order
RULES = (
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("pattern", "matches {}"),
    ("format", "format {}"),
)


class FieldDoc(BaseModel):
    name: str
    where: str = ""
    type: str
    required: bool
    rules: list[str]
    description: str


class OperationDoc(BaseModel):
    id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[FieldDoc]
    body: str | None
    responses: list[tuple[str, str]]
    auth: str


class SchemaDoc(BaseModel):
    name: str
    description: str
    fields: list[FieldDoc]
    shape: str | None = None  # a schema that is not an object: its type in words


class TagDoc(BaseModel):
    name: str
    operations: list[OperationDoc]


class ApiDocsOut(BaseModel):
    """The JSON twin: the reference as the page shows it (the spec is /api/openapi.json)."""

    title: str
    version: str
    description: str
    tags: list[TagDoc]
    schemas: list[SchemaDoc]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_text(schema: dict[str, Any]) -> str:
    """A schema's type in a few words: `string`, `array of RunOut`, `integer | null`."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_text(s) for s in schema[key])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_text(schema["allOf"][0])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {type_text(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {type_text(schema['additionalProperties'])}"
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    return str(kind) if kind else "any JSON"


def rules_of(schema: dict[str, Any]) -> list[str]:
    """The rules a schema states (bounds, patterns), its options' included."""
    found: list[str] = []
    for option in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        for key, text in RULES:
            if key in option:
                found.append(text.format(option[key]))
    if "default" in schema:
        found.append(f"default {json.dumps(schema['default'])}")
    return found


def _field(name: str, schema: dict[str, Any], required: bool, where: str = "") -> FieldDoc:
    return FieldDoc(
        name=name,
        where=where,
        type=type_text(schema),
        required=required,
        rules=rules_of(schema),
        description=str(schema.get("description") or schema.get("title") or ""),
    )


def _operation(method: str, path: str, op: dict[str, Any]) -> OperationDoc:
    params = [
        _field(p["name"], {**p.get("schema", {}), **p}, bool(p.get("required")), p.get("in", ""))
        for p in op.get("parameters", [])
    ]
    content: dict[str, Any] = op.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {})
    body_schema = first.get("schema")
    security = [name for entry in op.get("security", []) for name in entry]
    return OperationDoc(
        id=f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
        method=method.upper(),
        path=path,
        summary=str(op.get("summary", "")),
        description=str(op.get("description", "")),
        parameters=params,
        body=type_text(body_schema) if body_schema else None,
        responses=[(code, str(r.get("description", ""))) for code, r in op["responses"].items()],
        auth=", ".join(security) or "none",
    )


def _schema(name: str, schema: dict[str, Any]) -> SchemaDoc:
    required = set(schema.get("required", []))
    props = schema.get("properties")
    fields = [_field(n, s, n in required) for n, s in (props or {}).items()]
    shape = None if props is not None else type_text(schema)
    return SchemaDoc(
        name=name, description=str(schema.get("description", "")), fields=fields, shape=shape
    )


def reference(spec: dict[str, Any]) -> ApiDocsOut:
    """The page's content from an OpenAPI document; operations grouped by their first tag."""
    tags: dict[str, list[OperationDoc]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                tags.setdefault(tag, []).append(_operation(method, path, item[method]))
    schemas = spec.get("components", {}).get("schemas", {})
    info = spec.get("info", {})
    return ApiDocsOut(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")),
        tags=[TagDoc(name=name, operations=ops) for name, ops in tags.items()],
        schemas=[_schema(name, s) for name, s in sorted(schemas.items())],
    )


@router.get("/api/docs")
async def api_docs(request: Request) -> Response:
    """The API reference, from the same document as /api/openapi.json."""
    await load_session(request)  # the navigation shows only to a browser still signed in
    data = reference(request.app.openapi())
    return page(request, "api_docs.html", data, {"page_key": "api", "md": markdown_html})
