"""Forms generated from a JSON schema (a workflow's inputs), and form values read back.

Each property becomes one field: agents (`x-agentdeck-kind: agent`) a list of agents,
enums a list, integers and numbers number inputs with their bounds, booleans a checkbox,
lists of strings one item per line, a value that may be text or JSON (a plan) a text area
read as JSON when it starts like JSON and as text otherwise, and any other object or list
a JSON text area. What
the schema alone cannot check (patterns, nested models) the workflow's own validation
checks on submit, and its error is shown next to the field it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentdeck.web.schemas import AgentOut
from agentdeck.web.sessions import Form

PREFIX = "inputs."
UNDECLARED = "x-agentdeck-undeclared"
ALL_INPUTS = "inputs"  # the form field holding every input of an undeclared workflow


@dataclass
class FormField:
    """One input of a generated form, with the value to show and its error, if any."""

    name: str
    key: str
    label: str
    help: str
    widget: str  # agent, select, text, number, checkbox, lines, json, text_or_json
    required: bool
    nullable: bool = False
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str, str]] = field(default_factory=list)  # value, label, group
    attrs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    json_type: str | None = None
    kind: str | None = None  # x-agentdeck-kind: "plan" fields get a preview of their tasks

    @property
    def groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The options in order, grouped by their group label (empty: no group)."""
        out: list[tuple[str, list[tuple[str, str]]]] = []
        for value, label, group in self.options:
            if not out or out[-1][0] != group:
                out.append((group, []))
            out[-1][1].append((value, label))
        return out


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.split("/")[-1], {})
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _unwrap_nullable(schema: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    options = node.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1 and len(rest) < len(options):
            merged = {
                **_resolve(schema, rest[0]),
                **{k: v for k, v in node.items() if k != "anyOf"},
            }
            return merged, True
    return node, False


def _text_or_json(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    """A value that may be a string or JSON (`str | dict | list`)."""
    options = node.get("anyOf")
    if not isinstance(options, list):
        return False
    types = {_resolve(schema, o).get("type") for o in options}
    return "string" in types and bool(types & {"object", "array"})


def _show(value: Any, widget: str) -> str:
    if value is None:
        return ""
    if widget == "text_or_json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, indent=2)
    if widget == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _agent_options(key: str, agents: list[AgentOut]) -> list[tuple[str, str, str]]:
    """Agents whose role is the field's name first: a `producer` field lists producers first."""
    matching = [a for a in agents if a.role == key]
    others = [a for a in agents if a.role != key]
    group = f"{key}s" if matching else "agents"
    return [
        *((a.name, f"{a.name} ({a.role})", group) for a in matching),
        *((a.name, f"{a.name} ({a.role})", "other agents" if matching else group) for a in others),
    ]


def fields_of(
    schema: dict[str, Any],
    agents: list[AgentOut],
    values: Form | None = None,
    errors: dict[str, str] | None = None,
) -> list[FormField]:
    """The form of `schema`'s properties; `values` (a submitted form) override the defaults.

    A workflow that declares no inputs gets one JSON field for all of them: it may still
    read some (`inputs["topic"]`), and a form saying "no inputs" would start it without.
    """
    if schema.get(UNDECLARED):
        return [_all_inputs(values, errors)]
    required = set(schema.get("required", []))
    out = []
    for key, raw in (schema.get("properties") or {}).items():
        node, nullable = _unwrap_nullable(schema, _resolve(schema, raw))
        kind = node.get("type")
        widget = "json"
        attrs: dict[str, str] = {}
        options: list[tuple[str, str, str]] = []
        if node.get("x-agentdeck-kind") == "agent" and kind == "string":
            widget, options = "agent", _agent_options(key, agents)
        elif isinstance(node.get("enum"), list):
            widget = "select"
            options = [(str(v), str(v), "") for v in node["enum"]]
        elif kind == "boolean":
            widget = "checkbox"
        elif kind in ("integer", "number"):
            widget = "number"
            attrs["step"] = "1" if kind == "integer" else "any"
            for bound, attr in (("minimum", "min"), ("maximum", "max")):
                if isinstance(node.get(bound), int | float):
                    attrs[attr] = str(node[bound])
        elif kind == "string":
            widget = "text"
            if isinstance(node.get("maxLength"), int):
                attrs["maxlength"] = str(node["maxLength"])
        elif kind == "array" and _resolve(schema, node.get("items") or {}).get("type") == "string":
            widget = "lines"
        elif _text_or_json(schema, node):
            widget = "text_or_json"
        examples = node.get("examples")
        if widget == "json" and isinstance(examples, list) and examples:
            attrs["placeholder"] = json.dumps(examples[0], ensure_ascii=False, indent=2)
        elif widget == "text_or_json" and isinstance(examples, list) and examples:
            attrs["placeholder"] = str(examples[0])
        name = PREFIX + key
        default = node.get("default")
        if values is not None and name in values:
            value = values[name][-1]
        else:
            value = _show(default, widget)
        if widget == "agent" and value and value not in {o[0] for o in options}:
            options.append((value, f"{value} (not defined)", "unknown"))
        out.append(
            FormField(
                name=name,
                key=key,
                label=str(node.get("title") or key.replace("_", " ").capitalize()),
                help=str(node.get("description") or ""),
                widget=widget,
                required=key in required,
                nullable=nullable,
                value=value,
                checked=value == "true",
                options=options,
                attrs=attrs,
                error=(errors or {}).get(name),
                json_type=kind if isinstance(kind, str) else None,
                kind=node.get("x-agentdeck-kind"),
            )
        )
    return out


def _all_inputs(values: Form | None, errors: dict[str, str] | None) -> FormField:
    value = values[ALL_INPUTS][-1] if values is not None and ALL_INPUTS in values else "{}"
    return FormField(
        name=ALL_INPUTS,
        key=ALL_INPUTS,
        label="Inputs",
        help="This workflow does not declare its inputs: give them as one JSON object, "
        'e.g. {"topic": "..."}. A workflow that declares them (a pydantic model or a JSON '
        "Schema on registration) gets a field for each.",
        widget="json",
        required=False,
        value=value,
        error=(errors or {}).get(ALL_INPUTS),
        json_type="object",
    )


def inputs_of(fields: list[FormField]) -> tuple[dict[str, Any], dict[str, str]]:
    """The inputs a submitted form means, and the fields that could not be read."""
    inputs: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if len(fields) == 1 and fields[0].name == ALL_INPUTS:
        try:
            value = json.loads(fields[0].value.strip() or "{}")
        except ValueError as error:
            return {}, {ALL_INPUTS: f"inputs: is not valid JSON ({error})"}
        if not isinstance(value, dict):
            return {}, {ALL_INPUTS: "inputs: must be a JSON object"}
        return value, {}
    for f in fields:
        text = f.value.strip()
        if f.widget == "checkbox":
            inputs[f.key] = text == "true"
            continue
        if not text:
            if f.required:
                problems[f.name] = f"{f.name} is required"
            continue  # an empty optional field keeps the workflow's default
        try:
            inputs[f.key] = _parse(f, text)
        except ValueError as error:
            problems[f.name] = f"{f.name}: {error}"
    return inputs, problems


def _parse(f: FormField, text: str) -> Any:
    if f.widget == "number":
        if f.json_type == "integer":
            try:
                return int(text)
            except ValueError:
                raise ValueError("must be a whole number") from None
        try:
            return float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    if f.widget == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if f.widget == "json":
        try:
            return json.loads(text)
        except ValueError as error:
            raise ValueError(f"is not valid JSON ({error})") from None
    if f.widget == "text_or_json":
        return text_or_json(text)
    return text


def text_or_json(text: str) -> Any:
    """JSON when the text starts like JSON and parses, else the text itself; the workflow
    then says what is wrong with it (a plan's "is not valid JSON: ...")."""
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
