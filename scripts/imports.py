"""Imports between the package's layers: cross-package pairs, upward imports, cycles, sizes.

    python scripts/imports.py            # a summary
    python scripts/imports.py --pairs    # every (from package, to package) pair with a count

Reads the source with `ast`; imports under `if TYPE_CHECKING:` count too (they are
still a dependency a reader has to follow).
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "agentdeck"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """The top-level room of a module: `agentdeck.store.runs` -> `store`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agentdeck"


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)
    is_package = path.name == "__init__.py"
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "agentdeck":  # `from agentdeck import x`: x may be a module
                found += [
                    f"agentdeck.{a.name}"
                    if (ROOT / a.name).is_dir() or (ROOT / f"{a.name}.py").exists()
                    else "agentdeck"
                    for a in node.names
                ]
            else:
                found.append(target)
    return [m for m in found if m == "agentdeck" or m.startswith("agentdeck.")]


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        graph[module_name(path)] = set(imports_of(path))
    return graph


def package_pairs(graph: dict[str, set[str]]) -> Counter[tuple[str, str]]:
    pairs: Counter[tuple[str, str]] = Counter()
    for source, targets in graph.items():
        for target in targets:
            a, b = package_of(source), package_of(target)
            if a != b:
                pairs[(a, b)] += 1
    return pairs


def package_cycles(pairs: Counter[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in pairs if a < b and (b, a) in pairs)


def largest(n: int = 8) -> list[tuple[int, str]]:
    sizes = [
        (len(p.read_text().splitlines()), str(p.relative_to(ROOT.parent)))
        for p in ROOT.rglob("*.py")
    ]
    return sorted(sizes, reverse=True)[:n]


def main() -> None:
    graph = edges()
    pairs = package_pairs(graph)
    print(f"modules: {len(graph)}")
    print(f"cross-package import pairs: {len(pairs)} (imports: {sum(pairs.values())})")
    print(f"package cycles: {package_cycles(pairs) or 'none'}")
    if "--pairs" in sys.argv:
        for (a, b), count in sorted(pairs.items()):
            print(f"  {a:>10} -> {b:<10} {count}")
    print("largest modules:")
    for lines, name in largest():
        print(f"  {lines:5} {name}")


if __name__ == "__main__":
    main()
