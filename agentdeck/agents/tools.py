"""Tools agents may call: plain Python functions, each call journaled as an engine step.

Register a tool with `default_tools.register(fn)` (or `@default_tools.tool`) at import
time of a workflow module, then list its name in an agent's `tools`. A tool's arguments
are validated against its signature; its result must be JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentdeck.agents.workspace import tools as workspace_tools
from agentdeck.domain.errors import NotFound

if TYPE_CHECKING:
    from pydantic_ai.tools import Tool, ToolDefinition


class ToolRegistry:
    """Tools by name; their pydantic-ai schemas are built on first use."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}
        self._tools: dict[str, Tool[Any]] = {}

    def register(self, fn: Callable[..., Any], name: str | None = None) -> None:
        name = name or fn.__name__
        self._functions[name] = fn
        self._tools.pop(name, None)

    def tool(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator form of `register`."""
        self.register(fn)
        return fn

    def names(self) -> list[str]:
        return sorted(self._functions)

    def get(self, name: str) -> Tool[Any]:
        tool = self._tools.get(name)
        if tool is None:
            fn = self._functions.get(name)
            if fn is None:
                known = ", ".join(self.names()) or "none"
                raise NotFound(f"no tool {name!r} (known: {known})")
            from pydantic_ai.tools import Tool

            tool = self._tools[name] = Tool(fn, takes_ctx=False, name=name)
        return tool

    def definitions(self, names: list[str]) -> list[ToolDefinition]:
        return [self.get(n).tool_def for n in names]

    async def call(self, name: str, args: dict[str, Any]) -> Any:
        """Validate `args` against the tool's signature and call it."""
        schema = self.get(name).function_schema
        validated = schema.validator.validate_python(args)
        return await schema.call(validated, None)  # type: ignore[arg-type]


def current_time() -> str:
    """The current time in UTC, ISO 8601."""
    return datetime.now(UTC).isoformat()


def word_count(text: str) -> int:
    """How many words `text` has."""
    return len(text.split())


default_tools = ToolRegistry()
default_tools.register(current_time)
default_tools.register(word_count)
for _fn in workspace_tools.TOOLS:  # list/read/search/write/edit files of a build's worktree
    default_tools.register(_fn)
