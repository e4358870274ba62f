"""Repositories: register a local git repository or clone one; read its tree, commits, branches."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from agentdeck.agents.workspace import git as gitops
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.store import repositories as queries
from agentdeck.store.repositories import RepositoryRow

if TYPE_CHECKING:
    from agentdeck.deck import Deck

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_TREE = 500


@dataclass(frozen=True)
class RepositoryView:
    """What the dashboard shows of a repository: its files, recent commits and branches."""

    repository: RepositoryRow
    head_branch: str
    branches: list[str]
    commits: list[gitops.Commit]
    tree: list[str]
    tree_total: int


class Repositories:
    """The repositories builds run on."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck

    async def register(
        self,
        path: str,
        *,
        name: str | None = None,
        origin: str | None = None,
        push_remote: str | None = None,
        budget_usd: Decimal | float | None = None,
    ) -> RepositoryRow:
        """Register the git repository at `path` (absolute); Conflict when the name is taken."""
        if not isinstance(path, str) or "\x00" in path or not Path(path).is_absolute():
            raise InvalidInput(f"path must be an absolute path, not {path!r}", "path")
        where = await asyncio.to_thread(Path(path).resolve)
        if not await asyncio.to_thread(gitops.is_repository, where):
            raise InvalidInput(f"{where} is not the top folder of a git repository", "path")
        name = name or where.name
        _check_name(name)
        if budget_usd is not None and Decimal(str(budget_usd)) < 0:
            raise InvalidInput("budget_usd must be 0 or more", "budget_usd")
        repository_id = new_id("repo")
        row = {
            "id": repository_id,
            "name": name,
            "path": str(where),
            "origin": origin,
            "push_remote": push_remote or None,
            "budget_usd": None if budget_usd is None else Decimal(str(budget_usd)),
            "created_at": self._deck.clock.now(),
        }
        try:
            await self._deck.db.write(lambda conn: queries.insert_repository(conn, row))
        except IntegrityError:
            raise Conflict(f"a repository named {name!r} is registered already") from None
        return await self.get(repository_id)

    async def clone(
        self,
        source: str,
        *,
        name: str | None = None,
        push_remote: str | None = None,
        budget_usd: Decimal | float | None = None,
    ) -> RepositoryRow:
        """Clone `source` (a path or URL) into the builds folder and register the clone."""
        if not isinstance(source, str) or not source.strip() or "\x00" in source:
            raise InvalidInput("source must be a path or a git URL", "source")
        source = source.strip()
        if source.startswith("-"):
            raise InvalidInput("source must not start with '-'", "source")
        name = name or re.sub(r"\.git$", "", source.rstrip("/").rsplit("/", 1)[-1]) or "repo"
        _check_name(name)
        if await self.find(name) is not None:
            raise Conflict(f"a repository named {name!r} is registered already")
        destination = self._deck.settings.resolved_builds_dir() / "repositories" / name
        try:
            await asyncio.to_thread(gitops.clone, source, destination)
        except gitops.GitError as error:
            raise InvalidInput(f"cannot clone {source!r}: {error}", "source") from None
        return await self.register(
            str(destination),
            name=name,
            origin=source,
            push_remote=push_remote,
            budget_usd=budget_usd,
        )

    async def list(self) -> list[RepositoryRow]:
        return await self._deck.db.read(queries.list_repositories)

    async def find(self, key: str) -> RepositoryRow | None:
        if "\x00" in key:
            return None
        return await self._deck.db.read(lambda conn: queries.find_repository(conn, key))

    async def get(self, key: str) -> RepositoryRow:
        """By id or name; NotFound when neither matches."""
        found = await self.find(key)
        if found is None:
            raise NotFound(f"no repository {key!r}")
        return found

    async def delete(self, key: str) -> None:
        """Forget the repository (its files and branches stay where they are)."""
        row = await self.get(key)
        await self._deck.db.write(lambda conn: queries.delete_repository(conn, row.id))

    async def view(self, key: str, *, commits: int = 15) -> RepositoryView:
        row = await self.get(key)
        return await asyncio.to_thread(_view, row, commits)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(
            f"name {name!r}: letters, digits, `_`, `.`, `-`, up to 100 characters", "name"
        )


def _view(row: RepositoryRow, commits: int) -> RepositoryView:
    path = Path(row.path)
    if not gitops.is_repository(path):
        raise NotFound(f"repository {row.name!r}: {path} is no longer a git repository")
    tree = gitops.tree(path) if gitops.head_exists(path) else []
    return RepositoryView(
        repository=row,
        head_branch=gitops.current_branch(path) if tree else "",
        branches=gitops.branches(path),
        commits=gitops.recent_commits(path, limit=commits),
        tree=tree[:MAX_TREE],
        tree_total=len(tree),
    )


def repository_json(row: RepositoryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "path": row.path,
        "origin": row.origin,
        "push_remote": row.push_remote,
        "budget_usd": None if row.budget_usd is None else str(row.budget_usd),
        "created_at": row.created_at.isoformat(),
    }
