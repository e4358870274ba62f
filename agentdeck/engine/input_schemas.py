"""A workflow's inputs declared as a JSON Schema, turned into a pydantic model.

Registering `inputs={"type": "object", "properties": {...}, "required": [...]}` gives the
same as a pydantic model: the start form's fields, the API's validation (422 naming the
field) and the schema in `/api/workflows`. The common keywords are understood — `type`
(string, integer, number, boolean, array, object, and a list of them with null), `enum`,
`default`, `title`, `description`, `examples`, `minimum`/`maximum`, `exclusiveMinimum`/
`exclusiveMaximum`, `minLength`/`maxLength`, `pattern`, `items`, `minItems`/`maxItems`,
`required`, `additionalProperties` — and any other is refused at registration, naming it,
rather than ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentdeck.domain.errors import InvalidInput

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "object": dict[str, Any],
    "array": list[Any],
}
_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_length",
    "maxItems": "max_length",
    "pattern": "pattern",
}
_ANNOTATIONS = {"title", "description", "default", "examples", "format", "x-agentdeck-kind"}
_PROPERTY_KEYS = {*_CONSTRAINTS, *_ANNOTATIONS, "type", "enum", "items"}
_TOP_KEYS = {"type", "properties", "required", "additionalProperties", "title", "description"}
_TOP_KEYS |= {"$schema", "$id", "examples"}


def model_of(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model of a JSON Schema object; InvalidInput names what it cannot read."""
    where = f"workflow {name!r} inputs"
    _only(schema, _TOP_KEYS, where)
    if schema.get("type", "object") != "object":
        raise InvalidInput(f"{where}: the schema's type must be object", field="inputs")
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    unknown = required - set(properties)
    if unknown:
        raise InvalidInput(f"{where}: required names no property: {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {
        key: _field(f"{where}.{key}", prop, key in required) for key, prop in properties.items()
    }
    extra: Literal["allow", "forbid"] = (
        "allow" if schema.get("additionalProperties", False) is not False else "forbid"
    )
    config = ConfigDict(extra=extra, title=schema.get("title") or name)
    model: type[BaseModel] = create_model(f"{name}_inputs", __config__=config, **fields)
    return model


def _field(where: str, prop: Any, required: bool) -> tuple[Any, Any]:
    if not isinstance(prop, dict):
        raise InvalidInput(f"{where}: a property's schema must be an object")
    _only(prop, _PROPERTY_KEYS, where)
    kind = _type_of(where, prop)
    options: dict[str, Any] = {_CONSTRAINTS[k]: v for k, v in prop.items() if k in _CONSTRAINTS}
    for key in ("title", "description", "examples"):
        if key in prop:
            options[key] = prop[key]
    if "x-agentdeck-kind" in prop:
        options["json_schema_extra"] = {"x-agentdeck-kind": prop["x-agentdeck-kind"]}
    if required:
        return kind, Field(..., **options)
    default = prop.get("default")
    return (kind if default is not None else kind | None), Field(default, **options)


def _type_of(where: str, prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        values = prop["enum"]
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"{where}: enum must be a non-empty list")
        return Literal[tuple(values)]
    raw = prop.get("type", "string")
    names = raw if isinstance(raw, list) else [raw]
    kinds: list[Any] = []
    for kind in names:
        if kind == "null":
            continue
        if kind not in _TYPES:
            raise InvalidInput(f"{where}: unknown type {kind!r} (use {', '.join(_TYPES)})")
        if kind == "array" and isinstance(prop.get("items"), dict):
            item = _type_of(f"{where}.items", prop["items"])
            kinds.append(list[item])  # type: ignore[valid-type]
        else:
            kinds.append(_TYPES[kind])
    if not kinds:
        raise InvalidInput(f"{where}: a property cannot only be null")
    out: Any = kinds[0]
    for more in kinds[1:]:
        out = out | more
    return out | None if "null" in names else out


def _only(schema: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(schema) - allowed)
    if unknown:
        raise InvalidInput(
            f"{where}: JSON Schema keyword(s) not supported here: {', '.join(unknown)} "
            "(declare the inputs with a pydantic model for anything more)",
            field="inputs",
        )
