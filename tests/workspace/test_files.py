"""The file tools never reach outside the worktree: the path-escape corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentdeck.agents.workspace import PathRefused, Workspace
from agentdeck.domain.errors import InvalidInput


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Workspace, Path]:
    """`work` (the root) and its sibling `work-evil`, and a secret outside both."""
    root = tmp_path / "work"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\nSECRET = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "hooks").mkdir()
    evil = tmp_path / "work-evil"
    evil.mkdir()
    (evil / "loot.txt").write_text("outside")
    (tmp_path / "secret.txt").write_text("outside secret")
    return Workspace(root), tmp_path


ESCAPES = [
    "../secret.txt",
    "src/../../secret.txt",
    "./../work-evil/loot.txt",
    "../work-evil/loot.txt",
    "/etc/passwd",
    "//etc/passwd",
    "",
    ".",
    "src\\..\\..\\secret.txt",
    "a\x00b",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_escape_paths_are_refused_for_every_tool(layout: tuple[Workspace, Path], path: str) -> None:
    workspace, outside = layout
    with pytest.raises(PathRefused):
        workspace.read_file(path)
    with pytest.raises(PathRefused):
        workspace.write_file(path, "pwned")
    assert (outside / "secret.txt").read_text() == "outside secret"
    assert (outside / "work-evil" / "loot.txt").read_text() == "outside"


def test_symlink_inside_pointing_out_is_refused(layout: tuple[Workspace, Path]) -> None:
    workspace, outside = layout
    (workspace.root / "link").symlink_to(outside / "secret.txt")
    (workspace.root / "dirlink").symlink_to(outside / "work-evil")
    for path in ("link", "dirlink/loot.txt", "dirlink/new.txt"):
        with pytest.raises(PathRefused, match="symlink"):
            workspace.read_file(path)
        with pytest.raises(PathRefused, match="symlink"):
            workspace.write_file(path, "pwned")
    assert (outside / "secret.txt").read_text() == "outside secret"
    assert not (outside / "work-evil" / "new.txt").exists()
    assert "link" not in workspace.list_files()


def test_symlink_pointing_back_inside_is_refused_too(layout: tuple[Workspace, Path]) -> None:
    workspace, _ = layout
    (workspace.root / "alias").symlink_to(workspace.root / "src")
    with pytest.raises(PathRefused, match="symlink"):
        workspace.write_file("alias/app.py", "changed")
    assert workspace.read_file("src/app.py").startswith("print")


def test_root_reached_through_a_symlink_is_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "via").symlink_to(real)
    workspace = Workspace(tmp_path / "via")
    workspace.write_file("a.txt", "x")
    assert (real / "a.txt").read_text() == "x"


def test_hard_link_to_an_outside_file_is_refused(layout: tuple[Workspace, Path]) -> None:
    workspace, outside = layout
    os.link(outside / "secret.txt", workspace.root / "hard.txt")
    with pytest.raises(PathRefused, match="hard links"):
        workspace.read_file("hard.txt")
    with pytest.raises(PathRefused, match="hard links"):
        workspace.write_file("hard.txt", "pwned")
    assert (outside / "secret.txt").read_text() == "outside secret"


@pytest.mark.parametrize("path", [".git/hooks/pre-commit", ".git/config", "src/.GIT/x"])
def test_writes_into_git_are_refused(layout: tuple[Workspace, Path], path: str) -> None:
    workspace, _ = layout
    with pytest.raises(PathRefused, match=r"\.git"):
        workspace.write_file(path, "#!/bin/sh\nrm -rf /\n")
    assert not (workspace.root / ".git" / "hooks" / "pre-commit").exists()


def test_tools_work_inside(layout: tuple[Workspace, Path]) -> None:
    workspace, _ = layout
    assert workspace.write_file("pkg/new/mod.py", "X = 1\n") == "pkg/new/mod.py"
    assert workspace.read_file("./pkg/new/mod.py") == "X = 1\n"
    workspace.edit_file("pkg/new/mod.py", "X = 1", "X = 2")
    assert workspace.read_file("pkg/new/mod.py") == "X = 2\n"
    assert workspace.list_files() == ["pkg/new/mod.py", "src/app.py"]
    hits = workspace.search(r"SECRET|X =")
    assert [(h.path, h.line) for h in hits] == [("pkg/new/mod.py", 1), ("src/app.py", 2)]
    with pytest.raises(InvalidInput, match="occurs 0 times"):
        workspace.edit_file("pkg/new/mod.py", "nothing", "y")
    with pytest.raises(InvalidInput, match="bad search pattern"):
        workspace.search("(")
