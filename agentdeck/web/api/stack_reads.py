"""Stacks read through the Deck and answered in the API's shapes; the pages and the CLI
use the same functions, so the dashboard, `agentdeck stacks` and the API never disagree."""

from __future__ import annotations

from agentdeck.deck import Deck
from agentdeck.domain.stack_rows import StackRow
from agentdeck.web.schemas.stack_board import (
    AgentActivityOut,
    CycleOut,
    MemoryOut,
    MessageOut,
    StackArtifactOut,
    TodoOut,
)
from agentdeck.web.schemas.stacks import ScaleOut, StackOut, StacksOut

STATES = ("idle", "running", "paused", "stopped")
LIST_LIMIT = 1000


async def stack_out(deck: Deck, stack: StackRow) -> StackOut:
    busy = await deck.stacks.busy([stack.id])
    return StackOut.of(stack, busy.get(stack.id, 0))


async def stack_counts(deck: Deck) -> dict[str, int]:
    """Stacks by state, every state listed (zero included)."""
    counts = await deck.stacks.counts()
    return {state: int(counts.get(state, 0)) for state in STATES} | {
        state: int(n) for state, n in counts.items() if state not in STATES
    }


async def scale_out(deck: Deck) -> ScaleOut:
    return ScaleOut.of(await deck.stacks.scale())


async def stacks_out(deck: Deck, state: str | None) -> StacksOut:
    """Stacks (oldest first, up to LIST_LIMIT), counts by state, the scale control."""
    stacks = await deck.stacks.list(state=state, limit=LIST_LIMIT)
    busy = await deck.stacks.busy([s.id for s in stacks]) if stacks else {}
    return StacksOut(
        items=[StackOut.of(s, busy.get(s.id, 0)) for s in stacks],
        counts=await stack_counts(deck),
        scale=await scale_out(deck),
    )


async def agents_out(deck: Deck, stack_id: str) -> list[AgentActivityOut]:
    return [AgentActivityOut.of(a) for a in await deck.stacks.agents(stack_id)]


async def todos_out(deck: Deck, stack_id: str, status: str | None = None) -> list[TodoOut]:
    return [TodoOut.of(t) for t in await deck.stacks.todos(stack_id, status=status)]


async def messages_out(
    deck: Deck, stack_id: str, limit: int, *, to_role: str | None = None, unread: bool = False
) -> list[MessageOut]:
    """The stack's own messages (not the broadcast channel), newest first."""
    found = await deck.stacks.messages(stack_id, to_role=to_role, unread=unread)
    newest = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
    return [MessageOut.of(m) for m in newest]


async def broadcasts_out(deck: Deck, limit: int) -> list[MessageOut]:
    """The broadcast channel of every stack, newest first."""
    found = await deck.stacks.broadcasts(limit)
    return [MessageOut.of(m) for m in sorted(found, key=lambda m: m.id, reverse=True)]


async def artifacts_out(deck: Deck, stack_id: str) -> list[StackArtifactOut]:
    return [StackArtifactOut.of(a) for a in await deck.stacks.artifacts(stack_id)]


async def memory_out(deck: Deck, stack_id: str) -> list[MemoryOut]:
    return [
        MemoryOut(role=a.role, memory=a.memory, size=len(a.memory), summaries=a.summaries)
        for a in await deck.stacks.agents(stack_id)
    ]


async def cycles_out(
    deck: Deck, stack_id: str, limit: int, *, before: int | None = None
) -> list[CycleOut]:
    """Cycles, newest first (below `before`, if given)."""
    found = await deck.stacks.cycles(stack_id, before=before, limit=limit)
    return [CycleOut.of(c) for c in found]
