"""Git helpers on real repositories: worktrees, diffs, commits, pushes to a bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.agents.workspace import GitError, Workspace, git
from tests.sample_repo import make_sample_repo


def test_worktree_diff_commit_remove_keeps_the_branch(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    worktree = tmp_path / "wt"
    git.add_worktree(repo, worktree, "agentdeck/run-1")
    files = Workspace(worktree)
    files.write_file("cockpit/new.py", "A = 1\n")
    files.edit_file("README.md", "Agents that", "Agents, all of them,")
    changes = {d.path: d for d in git.diff(worktree)}
    assert changes["cockpit/new.py"].status == "added"
    assert changes["cockpit/new.py"].added == 1
    assert changes["README.md"].status == "modified"
    assert "+Agents, all of them," in changes["README.md"].patch
    sha = git.commit(worktree, "build b1 phase P1")
    git.remove_worktree(repo, worktree)
    assert not worktree.exists()
    assert "agentdeck/run-1" in git.branches(repo)
    assert git.recent_commits(repo, "agentdeck/run-1")[0].sha == sha
    assert git.recent_commits(repo, "agentdeck/run-1")[0].subject == "build b1 phase P1"
    assert "cockpit/new.py" in git.tree(repo, "agentdeck/run-1")
    assert "cockpit/new.py" not in git.tree(repo, "main")
    assert git.current_branch(repo) == "main"


def test_add_worktree_again_after_a_crash_reuses_it(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    worktree = tmp_path / "wt"
    git.add_worktree(repo, worktree, "agentdeck/run-2")
    (worktree / "kept.txt").write_text("kept")
    git.add_worktree(repo, worktree, "agentdeck/run-2")
    assert (worktree / "kept.txt").read_text() == "kept"
    git.remove_worktree(repo, worktree)
    git.add_worktree(repo, worktree, "agentdeck/run-2")  # the branch exists: checked out again
    assert git.current_branch(worktree) == "agentdeck/run-2"


def test_push_to_a_local_bare_repository(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    bare = tmp_path / "remote.git"
    git.git(tmp_path, "init", "--quiet", "--bare", str(bare))
    worktree = tmp_path / "wt"
    git.add_worktree(repo, worktree, "agentdeck/run-3")
    Workspace(worktree).write_file("x.txt", "x\n")
    sha = git.commit(worktree, "build b3 phase P1")
    git.push(repo, str(bare), "agentdeck/run-3")
    assert git.git(bare, "rev-parse", "agentdeck/run-3").strip() == sha


def test_clone_and_errors_name_the_command(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    git.clone(str(repo), tmp_path / "copy")
    assert git.is_repository(tmp_path / "copy")
    assert not git.is_repository(tmp_path / "copy" / "cockpit")
    with pytest.raises(GitError, match="rev-parse"):
        git.git(tmp_path / "copy", "rev-parse", "no-such-ref")
