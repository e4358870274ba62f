"""The rules the server enforces, written into the published OpenAPI document.

A generated client should know them without reading the server: every string of a request
body is free of NUL (`pattern`), an agent's models are `provider:model`, and the limits
the edge applies to every body (size, nesting, Unicode, finite numbers) are stated in the
description, with the statuses that answer a breach (408, 413, 421, 429).
"""

from __future__ import annotations

from typing import Any

from agentdeck.domain.json_values import MAX_DEPTH
from agentdeck.settings import Settings

NO_NUL = "^[^\\u0000]*$"
# looser than the server where it must be: what does not match is surely refused
MODEL_NAME = "^\\s*(simulator:?|[^:]+:.*\\S.*)\\s*$"


def rules_text(settings: Settings) -> str:
    """The paragraph of the API's description that states the limits of every body."""
    return (
        "\n\nEvery request body: at most "
        f"{settings.max_body_bytes:,} bytes ({settings.max_artifact_body_bytes:,} for an "
        "external agent's report), refused with 413 before it is read, and sent within "
        f"{settings.body_read_timeout.total_seconds():g} s (else 408); authenticated before "
        "it is read (401). JSON bodies: valid UTF-8 and valid Unicode (no lone surrogates), "
        "no NUL character (\\u0000) in any string, no NaN or Infinity, objects and arrays "
        f"nested at most {MAX_DEPTH} deep (422, naming the field). The `Host` header must "
        "name the server (421 otherwise); too many wrong tokens from one address answer 429 "
        "with `Retry-After`."
    )


def _request_schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas request bodies use, referenced or inline, with those they refer to."""
    components = spec.get("components", {}).get("schemas", {})
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack: list[Any] = [
        media.get("schema", {})
        for item in spec.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
        for media in op.get("requestBody", {}).get("content", {}).values()
    ]
    while stack:
        schema = stack.pop()
        if isinstance(schema, list):
            stack.extend(schema)
            continue
        if not isinstance(schema, dict):
            continue
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                stack.append(components[name])
            continue
        found.append(schema)
        for key in ("properties", "$defs"):
            stack.extend((schema.get(key) or {}).values())
        for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            if key in schema:
                stack.append(schema[key])
    return found


def add_rules(spec: dict[str, Any], settings: Settings) -> None:
    """Write the rules into `spec` (in place)."""
    info = spec.setdefault("info", {})
    info["description"] = str(info.get("description", "")).rstrip() + rules_text(settings)
    for schema in _request_schemas(spec):
        if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(
            schema
        ):
            schema["pattern"] = NO_NUL
        models = (schema.get("properties") or {}).get("models")
        if isinstance(models, dict) and isinstance(models.get("items"), dict):
            models["items"]["pattern"] = MODEL_NAME
