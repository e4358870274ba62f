"""StackBoard: what the stack workflow asks of the process that runs it.

The workflow never imports the Deck: the Deck provides an object with these methods
as a service (`board_of(ctx)`), as it provides the agent runner. Every method returns
JSON values (the workflow journals them) and is safe to call again after a crash: what
it writes is keyed by (stack, cycle, role) or guarded by the state it starts from.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from agentdeck.engine.context import ServiceKey

if TYPE_CHECKING:
    from agentdeck.engine.context import RunContext


class StackBoard(Protocol):
    async def begin(self, stack_id: str, run_id: str, cycle: int) -> dict[str, Any]:
        """Where the stack stands at a cycle's start: {"go": "run" | "hold" | "end",
        "reason", "agents": {role: agent}, "work": [{"role", "priority", "reason"}],
        "memory_limit", "delay_s" (hold)}. Running, it forgets the run's steps of earlier
        cycles (the journal stays one cycle long), detects each role's work (reusing the
        last decision's while fresh), shows the roles with work busy and takes the
        builder's todo, in one transaction."""
        ...

    async def context(self, stack_id: str, role: str, cycle: int) -> dict[str, Any]:
        """What the role's agent is shown: idea, todos, unread messages, artifacts, memory;
        the builder's todo is taken (moved to in progress) here; the agent shows as running."""
        ...

    async def apply(
        self,
        stack_id: str,
        role: str,
        cycle: int,
        context: dict[str, Any],
        output: Any,
        memory: str | None,
    ) -> dict[str, Any]:
        """Apply an agent's structured output, count its execution and store its `memory`
        (None: left as it is), in one transaction; returns {"todos", "artifacts",
        "messages"}: how many are new."""
        ...

    async def node_state(
        self, stack_id: str, role: str, state: str, error: str | None = None
    ) -> None:
        """The agent of `role` is running, or finished (idle / failed with `error`)."""
        ...

    async def memory(self, stack_id: str, role: str) -> str: ...

    async def set_memory(self, stack_id: str, role: str, memory: str, summarised: bool) -> None: ...

    async def finish(self, stack_id: str, run_id: str, cycle: dict[str, Any]) -> dict[str, Any]:
        """Record the cycle (once) and decide: {"action", "delay_s", "reason", "go": bool}."""
        ...

    async def release(self, stack_id: str, run_id: str) -> bool:
        """The stack is not running: True if it was resumed meanwhile (go on), else the run
        is let go and ends."""
        ...

    def slot(self, stack_id: str) -> AbstractAsyncContextManager[bool]:
        """A slot of the pool of agent executions (the scale control); yields False when
        none freed up within the hold delay (the node is held for the next cycle)."""
        ...

    async def running(self, stack_id: str) -> bool:
        """False once a person paused or stopped the stack (checked between waves)."""
        ...


BOARD: ServiceKey[StackBoard] = ServiceKey("stack board")


def board_of(ctx: RunContext) -> StackBoard:
    """The board of the Deck that runs `ctx`'s run."""
    return ctx.services.get(BOARD)
