"""A deterministic review of a repository: tree, languages, sizes, test command, class patterns.

The same files give the same analysis, so a resumed build and its review agree.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.agents.workspace.files import Workspace

LANGUAGES = {
    ".py": "Python",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".js": "JavaScript",
    ".jsx": "JavaScript",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".rb": "Ruby",
    ".md": "Markdown",
    ".html": "HTML",
    ".css": "CSS",
    ".sql": "SQL",
    ".sh": "Shell",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".toml": "TOML",
    ".json": "JSON",
}
MAX_PARSED = 400


@dataclass(frozen=True)
class ClassInfo:
    """A class found in the source: where it is and what it extends."""

    name: str
    path: str
    bases: list[str]
    abstract: bool
    abstract_methods: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """What the review found; `as_json` is what the build stores and shows."""

    files: list[str]
    languages: dict[str, int]
    sizes: dict[str, int]
    total_bytes: int
    test_command: str | None
    test_framework: str | None
    test_files: list[str]
    classes: list[ClassInfo] = field(default_factory=list)
    base_classes: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def facts(self) -> dict[str, Any]:
        """What agents are told about the repository: short, and enough to follow its patterns."""
        by_name = {c.name: c for c in self.classes}
        tests = sorted({str(Path(f).parent) for f in self.test_files})
        return {
            "files": self.files[:300],
            "languages": self.languages,
            "test_command": self.test_command,
            "test_dir": tests[0] if tests else None,
            "base_classes": {
                name: {
                    "path": by_name[name].path,
                    "subclasses": subs,
                    "abstract_methods": by_name[name].abstract_methods,
                }
                for name, subs in self.base_classes.items()
                if name in by_name
            },
        }

    def findings(self) -> list[str]:
        """The analysis in a few sentences a person reads first."""
        out = [f"{len(self.files)} files, {self.total_bytes} bytes."]
        if self.languages:
            ranked = sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append("Languages: " + ", ".join(f"{k} ({v})" for k, v in ranked) + ".")
        if self.test_command:
            out.append(
                f"Tests: {self.test_framework}, run with `{self.test_command}` "
                f"({len(self.test_files)} test files)."
            )
        else:
            out.append("No test command detected.")
        for base, subs in sorted(self.base_classes.items()):
            out.append(f"Base class {base} with subclasses: {', '.join(subs) or 'none yet'}.")
        return out


def analyze(root: Path) -> Analysis:
    """Analyze the repository at `root` without running any of its code."""
    workspace = Workspace(root)
    files = workspace.list_files()
    sizes = {f: (workspace.root / f).stat().st_size for f in files}
    languages = Counter(LANGUAGES[Path(f).suffix] for f in files if Path(f).suffix in LANGUAGES)
    command, framework = detect_test_command(workspace.root, files)
    tests = [f for f in files if _is_test_file(f)]
    classes = _python_classes(workspace, [f for f in files if f.endswith(".py")][:MAX_PARSED])
    return Analysis(
        files=files,
        languages=dict(sorted(languages.items())),
        sizes=sizes,
        total_bytes=sum(sizes.values()),
        test_command=command,
        test_framework=framework,
        test_files=tests,
        classes=classes,
        base_classes=_bases_with_subclasses(classes),
    )


def detect_test_command(root: Path, files: list[str]) -> tuple[str | None, str | None]:
    """(command, framework): pytest, npm test, go test or make test, in that order."""
    names = set(files)
    if any(_is_test_file(f) and f.endswith(".py") for f in files) or "pytest.ini" in names:
        return "python -m pytest -q", "pytest"
    if "package.json" in names:
        try:
            scripts = json.loads((root / "package.json").read_text()).get("scripts", {})
        except (ValueError, OSError, AttributeError):
            scripts = {}
        if isinstance(scripts, dict) and "test" in scripts:
            return "npm test", "npm"
    if "go.mod" in names:
        return "go test ./...", "go"
    if "Makefile" in names:
        text = (root / "Makefile").read_text(errors="replace")
        if any(line.startswith("test:") for line in text.splitlines()):
            return "make test", "make"
    return None, None


def _is_test_file(path: str) -> bool:
    name = Path(path).name
    return (
        (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or name.endswith("_test.go")
        or ".test." in name
        or ".spec." in name
    )


def _python_classes(workspace: Workspace, paths: list[str]) -> list[ClassInfo]:
    out: list[ClassInfo] = []
    for path in paths:
        try:
            module = ast.parse(workspace.read_file(path))
        except (SyntaxError, ValueError):
            continue
        for node in module.body:
            if isinstance(node, ast.ClassDef):
                bases = [_name(b) for b in node.bases]
                methods = [
                    item.name
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and any(_name(d) == "abstractmethod" for d in item.decorator_list)
                ]
                abstract = "ABC" in bases or bool(methods)
                out.append(ClassInfo(node.name, path, [b for b in bases if b], abstract, methods))
    return out


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _bases_with_subclasses(classes: list[ClassInfo]) -> dict[str, list[str]]:
    """Classes of the repository that others extend, or that are abstract, with their subclasses."""
    known = {c.name for c in classes}
    out: dict[str, list[str]] = {c.name: [] for c in classes if c.abstract}
    for c in classes:
        for base in c.bases:
            if base in known:
                out.setdefault(base, []).append(c.name)
    return {k: sorted(v) for k, v in sorted(out.items())}
