"""A small MCP server over stdio for the tests: `count_words(text)`, and a log of its life.

It appends `started` to the file named by MCP_LOG_FILE when it starts and `called <text>`
on every call, so a test counts what the server really did (it runs in its own process).
"""

from __future__ import annotations

import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")


@server.tool()
def count_words(text: str) -> int:
    """How many words `text` has."""
    log(f"called {text}")
    return len(text.split())


def log(line: str) -> None:
    path = os.environ.get("MCP_LOG_FILE")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(line + "\n")


if __name__ == "__main__":
    log("started")
    server.run("stdio")
