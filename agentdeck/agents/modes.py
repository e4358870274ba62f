"""Build modes: frugal, balanced, performance and max map each agent role to a model chain.

A role may route by task kind (`simple-crud`, `auth-security`, `complex-logic`): a
security task gets a stronger model than a CRUD one in the same mode. The shipped table
below is the default; an agents.yaml may override any of it under a top-level `modes:`
key with the same shape:

    modes:
      balanced:
        backend:
          default: [openai:gpt-4.1-mini]
          kinds: {auth-security: [anthropic:claude-sonnet-4-5]}

The dashboard's overrides (table `build_modes`) lie over that, through `with_overrides`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentdeck.domain.errors import AgentdeckError, InvalidInput
from agentdeck.engine.context import ServiceKey
from agentdeck.llm.config import DEFAULT_ENDPOINTS
from agentdeck.llm.names import parse_model_name

if TYPE_CHECKING:
    from agentdeck.engine.context import RunContext


class Mode(StrEnum):
    FRUGAL = "frugal"
    BALANCED = "balanced"
    PERFORMANCE = "performance"
    MAX = "max"


class TaskKind(StrEnum):
    SIMPLE_CRUD = "simple-crud"
    AUTH_SECURITY = "auth-security"
    COMPLEX_LOGIC = "complex-logic"


# the roles of a build: the orchestrator reviews and plans, the others write code
BUILD_ROLES = ("orchestrator", "backend", "frontend", "tester", "devops")

_CHEAP = ["groq:llama-3.3-70b-versatile", "openai:gpt-4.1-nano", "google:gemini-2.5-flash"]
_MID = ["openai:gpt-4.1-mini", "google:gemini-2.5-flash", "groq:llama-3.3-70b-versatile"]
_SMART = ["anthropic:claude-sonnet-4-5", "openai:gpt-4.1", "google:gemini-2.5-pro"]
_TOP = ["anthropic:claude-opus-4-1", "anthropic:claude-sonnet-4-5", "openai:o3"]


class RoleStrategy(BaseModel):
    """The chain of one role in one mode, and the chains that replace it for some task kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: list[str] = Field(min_length=1, max_length=10)
    kinds: dict[TaskKind, list[str]] = Field(default_factory=dict)

    @field_validator("default")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        return [parse_model_name(m, DEFAULT_ENDPOINTS).id for m in value]

    @field_validator("kinds")
    @classmethod
    def _kind_models(cls, value: dict[TaskKind, list[str]]) -> dict[TaskKind, list[str]]:
        return {k: cls._models(v) for k, v in value.items()}

    def chain(self, kind: str | None) -> list[str]:
        if kind is not None and kind in self.kinds:
            return self.kinds[TaskKind(kind)]
        return self.default


def _coder(base: list[str], security: list[str], complex_: list[str]) -> RoleStrategy:
    return RoleStrategy(
        default=base,
        kinds={
            TaskKind.SIMPLE_CRUD: base,
            TaskKind.AUTH_SECURITY: security,
            TaskKind.COMPLEX_LOGIC: complex_,
        },
    )


def _mode(orchestrator: list[str], base: list[str], up: list[str], top: list[str]) -> Any:
    coder = _coder(base, up, top)
    return {
        "orchestrator": RoleStrategy(default=orchestrator),
        "backend": coder,
        "frontend": coder,
        "tester": RoleStrategy(default=base),
        "devops": coder,
    }


SHIPPED: dict[Mode, dict[str, RoleStrategy]] = {
    Mode.FRUGAL: _mode(_MID, _CHEAP, _CHEAP, _MID),
    Mode.BALANCED: _mode(_SMART, _MID, _SMART, _SMART),
    Mode.PERFORMANCE: _mode(_SMART, _SMART, _SMART, _TOP),
    Mode.MAX: _mode(_TOP, _TOP, _TOP, _TOP),
}


class ModeTable:
    """Which models each role uses in each mode, by task kind."""

    def __init__(self, table: Mapping[Mode, Mapping[str, RoleStrategy]] | None = None) -> None:
        self.table = {m: dict(roles) for m, roles in (table or SHIPPED).items()}

    def chain(self, mode: str, role: str, kind: str | None = None) -> list[str]:
        """The model chain of `role` in `mode` for a task of `kind`; InvalidInput when unknown."""
        try:
            roles = self.table[Mode(mode)]
        except (ValueError, KeyError):
            known = ", ".join(m.value for m in Mode)
            raise InvalidInput(f"unknown mode {mode!r} (known: {known})", "mode") from None
        strategy = roles.get(role)
        if strategy is None:
            known = ", ".join(sorted(roles))
            raise InvalidInput(f"no role {role!r} in mode {mode} (known: {known})", "role")
        return strategy.chain(kind)

    def with_overrides(self, mode: str, roles: Mapping[str, Mapping[str, list[str]]]) -> ModeTable:
        """This table with the chains of `roles` (role -> kind or "default" -> models) in `mode`
        replaced: the dashboard's overrides laid over the agents file's table."""
        table = {m: dict(r) for m, r in self.table.items()}
        target = table[Mode(mode)]
        for role, kinds in roles.items():
            current = target.get(role)
            default = kinds.get("default") or (current.default if current else None)
            if not default:
                continue
            merged = {**(current.kinds if current else {})}
            merged.update({TaskKind(k): v for k, v in kinds.items() if k != "default"})
            target[role] = RoleStrategy(default=default, kinds=merged)
        return ModeTable(table)

    def roles(self, mode: str = Mode.BALANCED) -> list[str]:
        return sorted(self.table[Mode(mode)])

    def as_json(self) -> dict[str, Any]:
        return {
            m.value: {r: s.model_dump(mode="json") for r, s in roles.items()}
            for m, roles in self.table.items()
        }

    @classmethod
    def from_agents_file(cls, path: Path | None, endpoints: Collection[str] = ()) -> ModeTable:
        """The shipped table, with the `modes:` of `path` laid over it (when it has one)."""
        if path is None or not path.is_file():
            return cls()
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        overrides = document.get("modes") if isinstance(document, dict) else None
        return cls.overlay(overrides or {}, str(path))

    @classmethod
    def overlay(cls, overrides: Mapping[str, Any], label: str = "modes") -> ModeTable:
        table = {m: dict(roles) for m, roles in SHIPPED.items()}
        if not isinstance(overrides, Mapping):
            raise InvalidInput(f"{label}: `modes:` must map a mode to its roles", "modes")
        for mode_name, roles in overrides.items():
            try:
                mode = Mode(mode_name)
            except ValueError:
                known = ", ".join(m.value for m in Mode)
                raise InvalidInput(
                    f"{label}: unknown mode {mode_name!r} (known: {known})", "modes"
                ) from None
            if not isinstance(roles, Mapping):
                raise InvalidInput(f"{label}: modes.{mode_name} must map roles", "modes")
            for role, strategy in roles.items():
                try:
                    table[mode][str(role)] = RoleStrategy.model_validate(strategy)
                except (ValidationError, ValueError) as error:
                    raise InvalidInput(
                        f"{label}: modes.{mode_name}.{role}: {_first(error)}", "modes"
                    ) from None
        return cls(table)


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error)


MODES: ServiceKey[ModeTable] = ServiceKey("build modes")


def modes_of(ctx: RunContext) -> ModeTable:
    """The mode table the Deck running `ctx` provides; the shipped one when it provides none."""
    try:
        return ctx.services.get(MODES)
    except AgentdeckError:
        return ModeTable()
