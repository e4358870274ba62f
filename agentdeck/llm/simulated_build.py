"""What the offline simulator answers for the build workflow's roles.

* build-review: a markdown review of the `## Analysis` JSON and the `## Request`.
* build-plan: JSON `{"title", "summary", "phases": [{"id", "title", "tasks": [{"id",
  "title", "description", "role", "kind", "estimate_hours", "estimate_tokens",
  "files"}]}], "simulated": true}` — one phase per class the request names ("Add the 4
  missing agents: A, B, C, D"), each class extending the repository's most extended
  base class, with a task for the class and one for its test.
* build-code: JSON `{"summary", "files": [{"path", "content"}], "simulated": true}`, whole
  files: the class (every abstract method of its base implemented) or its pytest test.
  A `## Requested changes` section is honoured by a line in the class's docstring.

Every answer is a pure function of the prompt, so a replayed build writes the same files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_STOP = {"add", "the", "a", "an", "new", "missing", "create", "implement", "write", "to", "of"}


def section(prompt: str, name: str) -> str:
    """The text under the heading `## <name>` up to the next `## ` heading ('' if absent)."""
    match = re.search(rf"^## {re.escape(name)}\s*\n(.*?)(?=^## |\Z)", prompt, re.M | re.S)
    return match.group(1).strip() if match else ""


def section_json(prompt: str, name: str) -> dict[str, Any]:
    text = section(prompt, name)
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def camel(stem: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in stem.split("_") if part)


# --- review -----------------------------------------------------------------------


def _review(prompt: str) -> str:
    analysis = section_json(prompt, "Analysis")
    request = section(prompt, "Request") or "the request"
    languages = analysis.get("languages") or {}
    bases = analysis.get("base_classes") or {}
    lines = [
        f"# Review: {request[:120]}",
        "",
        "_Written by the agentdeck offline simulator: no model provider is configured._",
        "",
        "## Findings",
        "",
        f"- {len(analysis.get('files') or [])} files; languages: "
        + (", ".join(f"{k} ({v})" for k, v in sorted(languages.items())) or "none found")
        + ".",
        f"- Tests run with `{analysis.get('test_command') or 'no command found'}`.",
    ]
    for base, info in sorted(bases.items()):
        subclasses = ", ".join(info.get("subclasses") or []) or "none yet"
        lines.append(f"- `{base}` ({info.get('path')}) is extended by: {subclasses}.")
    lines += [
        "",
        "## Approach",
        "",
        "Follow the existing pattern: each new class extends the base class, lives next to "
        "its siblings and comes with a pytest test.",
    ]
    return "\n".join(lines)


# --- plan -------------------------------------------------------------------------


def requested_names(request: str) -> list[str]:
    """Class names a request lists after its last colon ("...: A, B and C")."""
    tail = request.rsplit(":", 1)[-1] if ":" in request else ""
    parts = re.split(r",|\band\b", tail)
    names = [p.strip().strip(".") for p in parts]
    return [n for n in names if _IDENTIFIER.match(n)]


def _fallback_name(request: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z]+", request) if w.lower() not in _STOP]
    return "".join(w.capitalize() for w in words[:2]) or "Feature"


def _role_of(name: str) -> str:
    for marker, role in (("Front", "frontend"), ("Test", "tester"), ("Ops", "devops")):
        if marker in name:
            return role
    return "backend"


def _kind_of(name: str) -> str:
    if re.search(r"Auth|Security|Login|Permission", name):
        return "auth-security"
    if re.search(r"(Engine|Scheduler|Optimi[sz]er|Planner|Solver)$", name):
        return "complex-logic"
    return "simple-crud"


def main_base(repository: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The base class most extended in the repository (ties: by name), with its facts."""
    bases: dict[str, Any] = repository.get("base_classes") or {}
    if not bases:
        return None, {}
    name = sorted(bases, key=lambda b: (-len(bases[b].get("subclasses") or []), b))[0]
    return name, bases[name]


def _plan(prompt: str) -> str:
    analysis = section_json(prompt, "Analysis")
    request = section(prompt, "Request")
    names = requested_names(request) or [_fallback_name(request)]
    base, info = main_base(analysis)
    folder = str(PurePosixPath(info["path"]).parent) if info.get("path") else "src"
    tests = analysis.get("test_dir") or "tests"
    phases = []
    for n, name in enumerate(names, start=1):
        extends = f" extending {base}" if base else ""
        phases.append(
            {
                "id": f"P{n}",
                "title": f"{name}{extends}",
                "tasks": [
                    {
                        "id": f"{n}.1",
                        "title": f"Create {name}{extends}",
                        "description": f"Write the class {name}{extends}, next to its siblings.",
                        "role": _role_of(name),
                        "kind": _kind_of(name),
                        "estimate_hours": 1.0,
                        "estimate_tokens": 6000,
                        "files": [f"{folder}/{snake(name)}.py"],
                    },
                    {
                        "id": f"{n}.2",
                        "title": f"Test {name}",
                        "description": f"Write pytest tests of {name}.",
                        "role": "tester",
                        "kind": "simple-crud",
                        "estimate_hours": 0.5,
                        "estimate_tokens": 4000,
                        "files": [f"{tests}/test_{snake(name)}.py"],
                    },
                ],
            }
        )
    summary = f"{len(phases)} phase(s), one per class: {', '.join(names)}."
    plan = {"title": request[:120] or "Build", "summary": summary, "phases": phases}
    return json.dumps({**plan, "simulated": True})


# --- code -------------------------------------------------------------------------


def _module_of(path: str) -> str:
    return str(PurePosixPath(path).with_suffix("")).replace("/", ".")


def _class_file(name: str, base: str | None, info: dict[str, Any], note: str) -> str:
    lines = [f'"""{name} (written by the agentdeck offline simulator)."""', ""]
    if base and info.get("path"):
        lines += [f"from {_module_of(info['path'])} import {base}", ""]
    lines += [
        "",
        f"class {name}({base})" + ":" if base else f"class {name}:",
        f'    """{name}{" extends " + base if base else ""}.{note}"""',
        "",
        f'    kind = "{snake(name).replace("_", "-")}"',
    ]
    for method in info.get("abstract_methods") or []:
        lines += [
            "",
            f"    def {method}(self, *args: object, **kwargs: object) -> str:",
            f'        return "{name}: {method}"',
        ]
    return "\n".join(lines) + "\n"


def _test_file(name: str, module: str, base: str | None, info: dict[str, Any]) -> str:
    s = snake(name)
    lines = [f'"""Tests of {name} (written by the agentdeck offline simulator)."""', ""]
    lines += ["import inspect", "", f"from {module} import {name}"]
    if base and info.get("path"):
        lines.append(f"from {_module_of(info['path'])} import {base}")
    lines += ["", "", f"def test_{s}_is_a_concrete_class() -> None:"]
    if base:
        lines.append(f"    assert issubclass({name}, {base})")
    lines += [
        f"    assert not inspect.isabstract({name})",
        f'    assert {name}.kind == "{s.replace("_", "-")}"',
    ]
    for method in info.get("abstract_methods") or []:
        lines += [
            "",
            "",
            f"def test_{s}_{method}_answers() -> None:",
            f"    instance = {name}.__new__({name})",
            f'    assert instance.{method}("task") == "{name}: {method}"',
        ]
    return "\n".join(lines) + "\n"


def _code(prompt: str) -> str:
    task = section_json(prompt, "Task")
    repository = section_json(prompt, "Repository")
    comment = section(prompt, "Requested changes")
    note = f" Revised: {' '.join(comment.split())[:120]}" if comment else ""
    base, info = main_base(repository)
    folder = str(PurePosixPath(info["path"]).parent) if info.get("path") else "src"
    files = []
    for path in task.get("files") or []:
        stem = PurePosixPath(path).stem
        if stem.startswith("test_"):
            name = camel(stem.removeprefix("test_"))
            module = _module_of(f"{folder}/{stem.removeprefix('test_')}.py")
            files.append({"path": path, "content": _test_file(name, module, base, info)})
        else:
            files.append({"path": path, "content": _class_file(camel(stem), base, info, note)})
    summary = f"Wrote {', '.join(f['path'] for f in files) or 'nothing'} (offline simulator)."
    return json.dumps({"summary": summary, "files": files, "simulated": True})


ROLES: dict[str, Callable[[str], str]] = {
    "build-review": _review,
    "build-plan": _plan,
    "build-code": _code,
}
