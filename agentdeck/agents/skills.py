"""The skills library: markdown files whose text is appended to an agent's instructions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentdeck.domain.errors import NotFound

SHIPPED_SKILLS = Path(__file__).parent / "skills"


@dataclass(frozen=True)
class Skill:
    """One skill: its name (the file's stem), its title (first heading) and its text."""

    name: str
    title: str
    path: Path
    content: str


class SkillLibrary:
    """Skills found in `folders`, in order: a skill in an earlier folder hides a later one."""

    def __init__(self, folders: Sequence[Path] = (SHIPPED_SKILLS,)) -> None:
        self.folders = list(folders)
        self._skills: dict[str, Skill] = {}
        for folder in reversed(self.folders):
            if folder.is_dir():
                for path in sorted(folder.glob("*.md")):
                    self._skills[path.stem] = _read(path)

    @classmethod
    def with_custom(cls, folder: Path | None) -> SkillLibrary:
        """The shipped skills, under those of `folder` if given."""
        return cls([folder, SHIPPED_SKILLS] if folder is not None else [SHIPPED_SKILLS])

    def names(self) -> list[str]:
        return sorted(self._skills)

    def list(self) -> list[Skill]:
        return [self._skills[n] for n in self.names()]

    def find(self, name: str) -> Skill | None:
        return self._skills.get(name)

    def get(self, name: str) -> Skill:
        skill = self._skills.get(name)
        if skill is None:
            known = ", ".join(self.names()) or "none"
            raise NotFound(f"no skill {name!r} (known: {known})")
        return skill


def _read(path: Path) -> Skill:
    content = path.read_text(encoding="utf-8").strip()
    title = next(
        (ln.lstrip("#").strip() for ln in content.splitlines() if ln.startswith("#")), path.stem
    )
    return Skill(path.stem, title, path, content)
