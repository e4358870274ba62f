"""How a run finds the agent runner: handed in by the Deck that runs it, never a global.

The Deck provides its runner under `RUNNER` in the services every run of its workers
carries; a workflow asks `runner_of(ctx)`. Two Decks in one process each hand their
own runner to their own runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.engine.services import ServiceKey

if TYPE_CHECKING:
    from agentdeck.agents.runner import AgentRunner
    from agentdeck.engine.context import RunContext

RUNNER: ServiceKey[AgentRunner] = ServiceKey("agent runner")


def runner_of(ctx: RunContext) -> AgentRunner:
    """The runner of the Deck that runs `ctx`'s run."""
    return ctx.services.get(RUNNER)
