"""Runs `agentdeck <args>` once stdin says go: processes that load first start together.

Importing the web stack takes seconds, and more when eight processes share two cores;
without this gate they would reach the database one after another, not at once.
"""

from __future__ import annotations

import sys

import uvicorn  # noqa: F401 - loaded before the gate, as `serve` would load it after

import agentdeck.web.app  # noqa: F401
from agentdeck.cli.main import app

if __name__ == "__main__":
    print("loaded", flush=True)
    sys.stdin.readline()
    app(sys.argv[1:])
