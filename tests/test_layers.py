"""The package keeps its layers (docs/architecture.md): imports go downward only.

Read from the source with `ast` (scripts/imports.py): an import of a package a layer
may not use fails here, naming the module and the import.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent

BASE = {"agentdeck", "domain", "settings", "clock"}
# what each top-level package may import besides itself
ALLOWED: dict[str, set[str]] = {
    "agentdeck": {"domain"},
    "domain": set(),
    "clock": set(),
    "settings": set(),
    "store": BASE,
    "engine": BASE | {"store"},
    "llm": BASE,
    "agents": BASE | {"engine", "llm"},  # never the store: the engine hands them a journal
    "workflows": BASE | {"engine", "llm", "agents"},
    "deck": BASE | {"store", "engine", "llm", "agents", "workflows"},
    "web": BASE | {"deck"},  # never around the Deck
    "cli": BASE | {"deck", "workflows", "web"},
}
MAX_LINES = 500


def _imports_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("imports", ROOT / "scripts" / "imports.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


imports = _imports_module()


def test_every_package_has_a_layer() -> None:
    packages = {imports.package_of(m) for m in imports.edges()}
    assert packages <= set(ALLOWED), f"a package with no layer: {packages - set(ALLOWED)}"


def test_imports_go_downward_only() -> None:
    wrong = [
        f"{source} imports {target}"
        for source, targets in sorted(imports.edges().items())
        for target in sorted(targets)
        if imports.package_of(target) != imports.package_of(source)
        and imports.package_of(target) not in ALLOWED[imports.package_of(source)]
    ]
    assert wrong == []


def test_no_cycle_between_packages() -> None:
    assert imports.package_cycles(imports.package_pairs(imports.edges())) == []


def test_the_engine_core_does_not_import_engine_external() -> None:
    """engine/external serves the engine's callers; the engine core does not import it."""
    core = {m: t for m, t in imports.edges().items() if m.startswith("agentdeck.engine.")}
    wrong = [
        f"{m} imports {t}"
        for m, targets in core.items()
        if not m.startswith("agentdeck.engine.external")
        for t in targets
        if t.startswith("agentdeck.engine.external")
    ]
    assert wrong == []


def test_no_module_is_over_500_lines() -> None:
    assert [(n, name) for n, name in imports.largest(5) if n > MAX_LINES] == []


def test_no_module_keeps_process_state_in_a_global_statement() -> None:
    """A Deck, a runner or a task board set by `global` would be shared by every Deck of
    the process; only the id generator keeps a module-level counter."""
    allowed = {"agentdeck/domain/ids.py"}
    found = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "agentdeck").rglob("*.py"))
        if any(isinstance(n, ast.Global) for n in ast.walk(ast.parse(path.read_text())))
    ]
    assert [f for f in found if f not in allowed] == []
