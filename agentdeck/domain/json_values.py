"""What a JSON value must be to be stored: valid Unicode, finite numbers, bounded nesting.

Python's json module reads `"\\ud800"` (a lone surrogate), `NaN`, `Infinity` and values
nested a thousand levels deep; none of them can be stored or shown everywhere (SQLite
stores the surrogate and every later read of the row fails; PostgreSQL refuses NaN in
jsonb; pages recurse). These rules are checked at the API's edge and again in
Deck.submit, and each refusal says what is wrong and where (`inputs.topic[2]`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from agentdeck.domain.errors import InvalidInput

MAX_DEPTH = 64  # objects and arrays inside each other; far above any real input


class JsonRefused(InvalidInput):
    """A value that is JSON to Python but cannot be stored or shown; `field` says where."""


def path_text(prefix: str, parts: list[str | int]) -> str:
    """("inputs", ["a", 0, "b"]) -> "inputs.a[0].b"; a very deep path keeps its first steps."""
    out = prefix
    shown = parts if len(parts) <= 12 else parts[:8]
    for part in shown:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if len(shown) < len(parts):
        out += f"…({len(parts) - len(shown)} levels more)"
    return out or "body"


def _bad_text(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        return (
            f"contains a lone surrogate (\\u{code:04x}) at character {error.start}: "
            "send valid Unicode (a surrogate pair, or the character itself)"
        )
    return None


def check_value(value: Any, prefix: str = "") -> None:
    """Raise JsonRefused naming the first place where `value` breaks a rule."""
    # iterative walk: a value deeper than the recursion limit must not crash the check
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, parts = stack.pop()
        depth = len(parts)
        if isinstance(item, str):
            reason = _bad_text(item)
            if reason:
                raise JsonRefused(f"{path_text(prefix, parts)} {reason}", path_text(prefix, parts))
        elif isinstance(item, float):
            if not math.isfinite(item):
                where = path_text(prefix, parts)
                raise JsonRefused(
                    f"{where} is {item!r}, which JSON cannot hold: send a finite number", where
                )
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                where = path_text(prefix, parts)
                raise JsonRefused(
                    f"{where} nests deeper than {MAX_DEPTH} levels of objects and arrays", where
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        continue  # json.dumps turns them into strings; nothing to refuse
                    reason = _bad_text(key)
                    if reason:
                        where = path_text(prefix, parts)
                        raise JsonRefused(f"a key of {where} {reason}", where)
                    stack.append((child, [*parts, key]))
            else:
                stack.extend((child, [*parts, i]) for i, child in enumerate(item))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: send a finite number or null")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large for a double: send a smaller one")
    return number


def parse(body: bytes) -> Any:
    """Read a JSON body by the rules above; JsonRefused says what is wrong and where."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise JsonRefused(
            f"the body is not UTF-8 (byte {error.start} is 0x{body[error.start]:02x}): "
            "send UTF-8 JSON",
            "body",
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        # only a value far deeper than MAX_DEPTH gets here; count its depth to say so
        raise JsonRefused(
            f"the body nests {_max_depth(text)} levels of objects and arrays; at most "
            f"{MAX_DEPTH} are allowed",
            "body",
        ) from None
    except json.JSONDecodeError as error:
        raise JsonRefused(
            f"the body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            "body",
        ) from None
    except ValueError as error:
        raise JsonRefused(f"the body is not valid JSON: {error}", "body") from None
    check_value(value)
    return value


def _max_depth(text: str) -> int:
    """How deep brackets nest outside strings, without recursing (json.loads would)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def refuse_bool_for_number(given: Any, validated: Any, prefix: str, parts: list[Any]) -> None:
    """`true` where a number was expected: pydantic turns it into 1, which nobody meant."""
    if isinstance(given, bool):
        if not isinstance(validated, bool) and isinstance(validated, int | float):
            where = path_text(prefix, parts)
            raise InvalidInput(f"{where} must be a number, not {json.dumps(given)}", where)
    elif isinstance(given, dict) and isinstance(validated, dict):
        for key, child in given.items():
            if key in validated:
                refuse_bool_for_number(child, validated[key], prefix, [*parts, key])
    elif isinstance(given, list) and isinstance(validated, list) and len(given) == len(validated):
        for i, (child, done) in enumerate(zip(given, validated, strict=True)):
            refuse_bool_for_number(child, done, prefix, [*parts, i])


CUT = f"… (nested deeper than {MAX_DEPTH} levels: not shown)"


def bounded(value: Any, depth: int = 0) -> Any:
    """`value` with whatever lies deeper than MAX_DEPTH replaced by a note, for showing.

    Stored values come from anywhere (older rows, other programs); a page or an API answer
    must not fail on one, so what is shown is cut where serializers would give up.
    """
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return CUT
        return {str(k): bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return CUT
        return [bounded(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN from an older row: JSON has no spelling for it
    if isinstance(value, str) and _bad_text(value) and "\x00" not in value:
        return value.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    return value
