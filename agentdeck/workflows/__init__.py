"""The built-in workflows, written against the engine's step API only.

from agentdeck.workflows import register
register(registry)  # adds every built-in workflow: loop, plan, stack
"""

from __future__ import annotations

from agentdeck.engine.registry import Registry
from agentdeck.workflows import loop, plan, stack


def register(registry: Registry) -> None:
    """Add every built-in workflow to `registry`."""
    loop.register(registry)
    plan.register(registry)
    stack.register(registry)


__all__ = ["register"]
