"""File tools confined to one worktree: list, read, search, write and edit.

Every path is relative to the worktree root. A path is refused when it is absolute,
has a `..` part, passes through a symlink (in either direction: a link inside that
points out, or a link that points back in from a name the agent chose), names a file
with more than one hard link (its other names may live outside), or — for writes —
lies inside `.git`. The checks use resolved paths and `Path.is_relative_to`, never a
string prefix, so a sibling such as `work-evil` next to `work` is outside.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agentdeck.domain.errors import InvalidInput

MAX_READ_BYTES = 512 * 1024
MAX_LIST = 5000
SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache"})


class PathRefused(InvalidInput):
    """A path the file tools will not touch; the message says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path {path!r} refused: {reason}", field="path")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SearchHit:
    """One line that matched a search."""

    path: str
    line: int
    text: str


class Workspace:
    """The file tools of one worktree; every method takes paths relative to `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)

    # --- confinement ------------------------------------------------------------

    def resolve(self, path: str, *, for_write: bool = False) -> Path:
        """The absolute path `path` names inside the root, or PathRefused."""
        if not path or "\x00" in path or "\\" in path:
            raise PathRefused(path, "empty, or holds a NUL or a backslash")
        pure = PurePosixPath(path)
        if pure.is_absolute() or re.match(r"^[A-Za-z]:", path):
            raise PathRefused(path, "absolute paths are not allowed; give one relative to the root")
        parts = [p for p in pure.parts if p != "."]
        if not parts:
            raise PathRefused(path, "names the root itself")
        if ".." in parts:
            raise PathRefused(path, "`..` is not allowed")
        if for_write and any(p.lower() == ".git" for p in parts):
            raise PathRefused(path, "writes into .git are not allowed")
        current = self.root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise PathRefused(path, f"passes through the symlink {part!r}")
        if not current.resolve().is_relative_to(self.root):
            raise PathRefused(path, "resolves outside the root")
        if current.exists() and current.is_file() and current.stat().st_nlink > 1:
            raise PathRefused(path, "the file has other hard links")
        return current

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # --- tools --------------------------------------------------------------------

    def list_files(self, folder: str = ".") -> list[str]:
        """Regular files under `folder` (relative paths, sorted); symlinks are not followed."""
        start = self.root if folder in ("", ".") else self.resolve(folder)
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if stat.S_ISREG(full.lstat().st_mode):
                    out.append(self.relative(full))
                    if len(out) >= MAX_LIST:
                        return out
        return out

    def read_file(self, path: str) -> str:
        """The text of a file (UTF-8, up to 512 KiB)."""
        target = self.resolve(path)
        if not target.is_file():
            raise PathRefused(path, "no such file")
        if target.stat().st_size > MAX_READ_BYTES:
            raise PathRefused(path, f"larger than {MAX_READ_BYTES} bytes")
        return _read_nofollow(target).decode("utf-8", errors="replace")

    def search(self, pattern: str, folder: str = ".", limit: int = 200) -> list[SearchHit]:
        """Lines matching the regular expression `pattern`, in text files under `folder`."""
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise InvalidInput(f"bad search pattern {pattern!r}: {error}", "pattern") from None
        hits: list[SearchHit] = []
        for rel in self.list_files(folder):
            full = self.root / rel
            if full.stat().st_size > MAX_READ_BYTES or full.stat().st_nlink > 1:
                continue
            text = _read_nofollow(full).decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if regex.search(line):
                    hits.append(SearchHit(rel, number, line[:300]))
                    if len(hits) >= limit:
                        return hits
        return hits

    def write_file(self, path: str, content: str) -> str:
        """Create or replace a file; parent folders are created inside the root."""
        target = self.resolve(path, for_write=True)
        if target.exists() and not target.is_file():
            raise PathRefused(path, "is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        # the parents just created are real folders; check again that none became a link
        self.resolve(path, for_write=True)
        temporary = target.with_name(f".{target.name}.agentdeck-tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        # rename replaces the name, never the inode another name shares
        os.replace(temporary, target)
        return self.relative(target)

    def edit_file(self, path: str, old: str, new: str) -> str:
        """Replace the one occurrence of `old` in a file with `new`."""
        text = self.read_file(path)
        count = text.count(old) if old else 0
        if count != 1:
            raise InvalidInput(
                f"edit of {path!r}: the text to replace occurs {count} times; it must occur once",
                "old",
            )
        return self.write_file(path, text.replace(old, new, 1))


def _read_nofollow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_READ_BYTES + 1)
