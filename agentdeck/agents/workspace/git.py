"""Git, run as the `git` program: worktrees, diffs per file, commits, pushes, history.

Every call is synchronous and quick; workflows call them through `asyncio.to_thread`.
The committer is fixed (`agentdeck`) so that a machine without a git identity can commit.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentdeck.domain.errors import AgentdeckError, InvalidInput

IDENTITY = ("-c", "user.name=agentdeck", "-c", "user.email=agentdeck@localhost")
GIT_TIMEOUT_S = 120


class GitError(AgentdeckError):
    """A git command failed; the message holds the command and what git said."""


@dataclass(frozen=True)
class FileDiff:
    """The change of one file: its status (added, modified, deleted), lines and patch."""

    path: str
    status: str
    added: int
    removed: int
    patch: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Commit:
    """One commit of a history listing."""

    sha: str
    author: str
    date: str
    subject: str


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd`; its stdout, or GitError with stderr."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *IDENTITY, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git {' '.join(args)}: {error}") from None
    if check and done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {done.stderr.strip()[:2000]}")
    return done.stdout


def is_repository(path: Path) -> bool:
    """True when `path` is the top of a git working tree (not a folder inside one)."""
    if not path.is_dir():
        return False
    try:
        top = git(path, "rev-parse", "--show-toplevel").strip()
    except GitError:
        return False
    return Path(top).resolve() == path.resolve()


def clone(source: str, destination: Path) -> None:
    """Clone `source` (a path or URL) into `destination`, which must not exist."""
    if destination.exists():
        raise InvalidInput(f"{destination} already exists; choose another name", "name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    git(destination.parent, "clone", "--quiet", source, str(destination))


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def current_branch(repo: Path) -> str:
    return git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()


def branches(repo: Path) -> list[str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    return sorted(line for line in out.splitlines() if line)


def branch_exists(repo: Path, branch: str) -> bool:
    return bool(git(repo, "branch", "--list", branch).strip())


def recent_commits(repo: Path, ref: str = "HEAD", limit: int = 20) -> list[Commit]:
    out = git(repo, "log", f"-{limit}", "--format=%H%x1f%an%x1f%aI%x1f%s", ref, check=False)
    commits = []
    for line in out.splitlines():
        sha, author, date, subject = [*line.split("\x1f"), "", "", ""][:4]
        commits.append(Commit(sha, author, date, subject))
    return commits


@contextmanager
def worktrees_locked(repo: Path) -> Iterator[None]:
    """Hold the repository's worktree lock: git's worktree add, remove and prune read and
    write `.git/worktrees/` without one, and two builds of one repository (in any process
    of this machine) would otherwise see each other's half-made entries."""
    common = Path(git(repo, "rev-parse", "--git-common-dir").strip())
    lock_path = (repo / common if not common.is_absolute() else common) / "agentdeck.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def add_worktree(repo: Path, path: Path, branch: str, base: str = "HEAD") -> None:
    """A new worktree at `path` on a new branch; reuses the branch when it exists already.

    A worker that crashed after creating the worktree finds it again on resume.
    """
    if path.exists() and (path / ".git").exists():
        return
    with worktrees_locked(repo):
        git(repo, "worktree", "prune")
        if branch_exists(repo, branch):
            git(repo, "worktree", "add", "--quiet", str(path), branch)
        else:
            git(repo, "worktree", "add", "--quiet", "-b", branch, str(path), base)


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove the worktree (its files and git's record of it); the branch stays."""
    with worktrees_locked(repo):
        if path.exists():
            git(repo, "worktree", "remove", "--force", str(path))
        git(repo, "worktree", "prune")


def diff(worktree: Path) -> list[FileDiff]:
    """The worktree's uncommitted changes against HEAD, one entry per file, new files included."""
    git(worktree, "add", "--all")
    statuses = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "T": "modified"}
    names = git(worktree, "diff", "--cached", "--name-status", "--no-renames", "HEAD")
    counts = git(worktree, "diff", "--cached", "--numstat", "--no-renames", "HEAD")
    numbers: dict[str, tuple[int, int]] = {}
    for line in counts.splitlines():
        added, removed, path = line.split("\t", 2)
        numbers[path] = (int(added) if added != "-" else 0, int(removed) if removed != "-" else 0)
    out = []
    for line in names.splitlines():
        code, path = line.split("\t", 1)
        patch = git(worktree, "diff", "--cached", "--no-renames", "HEAD", "--", path)
        plus, minus = numbers.get(path, (0, 0))
        out.append(FileDiff(path, statuses.get(code[0], "modified"), plus, minus, patch))
    return out


def commit(worktree: Path, message: str) -> str:
    """Commit everything in the worktree; the new commit's sha (HEAD when nothing changed)."""
    git(worktree, "add", "--all")
    if not git(worktree, "diff", "--cached", "--name-only", "HEAD").strip():
        return head(worktree)
    git(worktree, "commit", "--quiet", "--no-verify", "-m", message)
    return head(worktree)


def push(repo: Path, remote: str, branch: str) -> None:
    """Push `branch` to `remote` (a remote's name, a path or a URL)."""
    git(repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")


def tree(repo: Path, ref: str = "HEAD") -> list[str]:
    """Every file path of `ref`."""
    return [p for p in git(repo, "ls-tree", "-r", "--name-only", ref).splitlines() if p]


def head_exists(repo: Path) -> bool:
    """False in a repository with no commit yet."""
    return bool(git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip())
