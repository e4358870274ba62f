"""MCP tools: an agent's MCP servers (agents.yaml `mcp_servers`), started over stdio.

The servers of one agent call are started the first time a live step needs them (the
model's tool list, or a tool call) and stopped when the call ends: a replayed run reads
its journaled answers and tool results and never starts them. A server's tool `t` is
offered to the model as `<server>_<t>`, beside the agent's own tools.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from agentdeck.domain.errors import AgentdeckError

if TYPE_CHECKING:
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.tools import ToolDefinition

    from agentdeck.agents.spec import ConfiguredAgent, McpServerSpec

START_SECONDS = 20.0  # starting a server and its handshake; a Python server takes ~1 s


class McpServerFailed(AgentdeckError):
    """An agent's MCP server could not be started or listed its tools wrongly."""


def _command_line(server: McpServerSpec) -> str:
    return " ".join([server.command, *server.args])


class McpSession:
    """The MCP servers of one agent call; `open()` starts them, `close()` stops them.

    Open and close in the same task: the transport's task group requires it.
    """

    def __init__(self, agent: ConfiguredAgent) -> None:
        self.agent = agent
        self._stack: AsyncExitStack | None = None
        # offered name -> (its server, the tool's name on that server)
        self._routes: dict[str, tuple[MCPToolset[Any], str]] = {}
        self._definitions: list[ToolDefinition] = []

    @property
    def configured(self) -> bool:
        return bool(self.agent.spec.mcp_servers)

    async def open(self) -> None:
        """Start every server of the agent and read their tools (once per session)."""
        if self._stack is not None or not self.configured:
            return
        from fastmcp.client.transports import StdioTransport
        from pydantic_ai.mcp import MCPToolset
        from pydantic_ai.tools import ToolDefinition

        self._stack = AsyncExitStack()
        for server in self.agent.spec.mcp_servers:
            transport = StdioTransport(
                command=server.command, args=list(server.args), env=server.env or None
            )
            toolset: MCPToolset[Any] = MCPToolset(
                transport,
                id=server.name,
                init_timeout=START_SECONDS,
                read_timeout=server.timeout_s,
                tool_error_behavior="error",
            )
            try:
                await self._stack.enter_async_context(toolset)
                tools = await toolset.list_tools()
            except Exception as error:
                await self.close()
                raise McpServerFailed(
                    f"agent {self.agent.name!r}: MCP server {server.name!r} "
                    f"(`{_command_line(server)}`) did not start: {_reason(error)}"
                ) from None
            for tool in tools:
                offered = f"{server.name}_{tool.name}"
                self._routes[offered] = (toolset, tool.name)
                self._definitions.append(
                    ToolDefinition(
                        name=offered,
                        description=tool.description or "",
                        parameters_json_schema=dict(tool.input_schema),
                    )
                )

    def definitions(self) -> list[ToolDefinition]:
        return list(self._definitions)

    def server_of(self, offered: str) -> str | None:
        """The server a tool offered to the model comes from; None when it is not an MCP tool."""
        route = self._routes.get(offered)
        return None if route is None else str(route[0].id)

    async def call(self, offered: str, args: dict[str, Any]) -> Any:
        """Call the MCP tool the model knows as `offered`; errors are raised to the caller."""
        toolset, name = self._routes[offered]
        return await toolset.direct_call_tool(name, args)

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()


def _reason(error: BaseException) -> str:
    """The first leaf of an exception group, which is what went wrong."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
