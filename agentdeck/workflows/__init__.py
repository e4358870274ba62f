"""The built-in workflows, written against the engine's step API only.

from agentdeck.workflows import register
register(registry)  # adds every built-in workflow: build, loop, plan, stack
"""

from __future__ import annotations

from agentdeck.engine.registry import Registry
from agentdeck.workflows import build, loop, plan, stack


def register(registry: Registry) -> None:
    """Add every built-in workflow to `registry`."""
    build.register(registry)
    loop.register(registry)
    plan.register(registry)
    stack.register(registry)


__all__ = ["register"]
