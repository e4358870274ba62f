"""Stacks: the command and read side of stacks, `deck.stacks`.

Interface (names are stable; the API, the pages and the CLI build on them):

    stack = await deck.stacks.create(name, idea=None, agents=None, budget_usd=None,
                                     max_concurrent=4, auto_start=False)  # -> StackRow
    await deck.stacks.get(id_or_name)                     # -> StackRow, NotFound
    await deck.stacks.list(state=None, after=None, limit=100)   # -> list[StackRow]
    await deck.stacks.counts()                            # -> {state: n}
    await deck.stacks.busy(stack_ids)                     # -> {stack id: agents executing}
    await deck.stacks.start(id) / pause(id) / resume(id) / stop(id)   # -> StackRow
        # IllegalTransition (409) when the state does not allow it
    await deck.stacks.start_all() / pause_all() / stop_all()  # -> list[StackRow] changed,
        # one transaction whatever the number of stacks; stacks it does not apply to are left
    await deck.stacks.set_scale(n | None, stack_id=None)  # global (None: the setting) or per stack
    await deck.stacks.scale()                             # -> {"scale", "default", "in_flight"}
    await deck.stacks.set_budget(id, budget_usd | None)   # -> StackRow
    await deck.stacks.agents(id)                          # -> list[StackAgentRow] (detection
        # cache: priority, reason, detected_at; status, executions, failures, memory)
    await deck.stacks.todos(id, status=None)              # -> list[TodoRow]
    await deck.stacks.messages(id, to_role=None, unread=False, broadcasts=False)
        # -> list[MessageRow]
    await deck.stacks.broadcasts(limit=50)                # -> list[MessageRow] of every stack
    await deck.stacks.broadcast(body, stack_id=None)      # a person's broadcast -> MessageRow
    await deck.stacks.artifacts(id) / artifact(id, artifact_id)
    await deck.stacks.memory(id)                          # -> {role: memory text}
    await deck.stacks.cycles(id, before=None, limit=50)   # -> list[CycleRow], newest first

Errors: InvalidInput (422) names the field; NotFound (404); IllegalTransition (409).
Each stack's cycles run as one run of the `stack` workflow, re-armed after each cycle.
"""

from __future__ import annotations

import builtins
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from agentdeck.deck.stack_board import DeckBoard
from agentdeck.deck.submissions import check_text
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.stack_rows import (
    CycleRow,
    MessageRow,
    StackAgentRow,
    StackArtifactRow,
    StackRow,
    TodoRow,
)
from agentdeck.domain.stacks import (
    ROLES,
    MessageKind,
    StackAction,
    StackState,
    TodoStatus,
    move,
)
from agentdeck.domain.topics import Topic
from agentdeck.store import stack_board as board_queries
from agentdeck.store import stacks as stack_queries
from agentdeck.workflows.stack import NAME as WORKFLOW
from agentdeck.workflows.stack.board import BOARD

if TYPE_CHECKING:
    from agentdeck.deck import Deck

MAX_NAME = 100
MAX_IDEA = 4000
MAX_BODY = 4000
MAX_CONCURRENT = 64
MAX_SCALE = 100_000
DEFAULT_AGENTS = {role.value: f"stack-{role.value}" for role in ROLES}


class Stacks:
    """Create, steer and read stacks; provides the board the stack workflow runs on."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck
        self._db = deck.db
        self.board = DeckBoard(deck)
        deck.services.provide(BOARD, lambda: self.board)

    # --- creating ----------------------------------------------------------------

    async def create(
        self,
        name: str,
        *,
        idea: str | None = None,
        agents: dict[str, str] | None = None,
        budget_usd: float | Decimal | str | None = None,
        max_concurrent: int = 4,
        auto_start: bool = False,
    ) -> StackRow:
        """A new stack (idle, or running with `auto_start`); agents fill roles by name."""
        name = _name(name)
        idea = _text(idea, "idea", MAX_IDEA)
        budget = _budget(budget_usd)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise InvalidInput("max_concurrent must be an integer", field="max_concurrent")
        if not 1 <= max_concurrent <= MAX_CONCURRENT:
            raise InvalidInput(
                f"max_concurrent must be between 1 and {MAX_CONCURRENT}", field="max_concurrent"
            )
        chosen = await self._agents(agents)
        now = self._deck.clock.now()
        row = {
            "id": new_id("stk"),
            "name": name,
            "idea": idea,
            "state": StackState.IDLE.value,
            "reason": "created",
            "budget_usd": budget,
            "max_concurrent": max_concurrent,
            "created_at": now,
            "updated_at": now,
        }
        try:
            stack = await self._db.write(lambda conn: stack_queries.insert_stack(conn, row, chosen))
        except IntegrityError:
            raise InvalidInput(f"a stack named {name!r} already exists", field="name") from None
        if auto_start:
            stack = await self.start(stack.id)
        return stack

    async def _agents(self, agents: dict[str, str] | None) -> dict[str, str]:
        if agents is not None and not isinstance(agents, dict):
            raise InvalidInput("agents must map roles to agent names", field="agents")
        given = agents or {}
        unknown = sorted(set(given) - {r.value for r in ROLES})
        if unknown:
            roles = ", ".join(r.value for r in ROLES)
            raise InvalidInput(
                f"unknown role {unknown[0]!r}: the roles are {roles}", field="agents"
            )
        chosen = {**DEFAULT_AGENTS, **{k: v for k, v in given.items() if v}}
        for role, agent in chosen.items():
            check_text(agent, f"agents.{role}")
            if not isinstance(agent, str) or await self._deck.agents.find(agent) is None:
                raise InvalidInput(
                    f"no agent named {agent!r} for the {role}: create it or pick another",
                    field=f"agents.{role}",
                )
        return chosen

    # --- reading -----------------------------------------------------------------------

    async def get(self, key: str) -> StackRow:
        check_text(key, "stack")
        found = await self._db.read(lambda conn: stack_queries.find_stack(conn, key))
        if found is None:
            raise NotFound(f"no stack with id or name {key!r}")
        return found

    async def list(
        self, *, state: str | None = None, after: str | None = None, limit: int = 100
    ) -> builtins.list[StackRow]:
        if state is not None and state not in StackState.__members__.values():
            states = ", ".join(s.value for s in StackState)
            raise InvalidInput(f"state must be one of {states}", field="state")
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000", field="limit")
        check_text(after, "after")
        return await self._db.read(
            lambda conn: stack_queries.list_stacks(conn, state=state, after=after, limit=limit)
        )

    async def counts(self) -> dict[str, int]:
        return await self._db.read(stack_queries.count_by_state)

    async def busy(self, stack_ids: builtins.list[str]) -> dict[str, int]:
        return await self._db.read(lambda conn: stack_queries.busy_agents(conn, stack_ids))

    async def agents(self, key: str) -> builtins.list[StackAgentRow]:
        stack = await self.get(key)
        return await self._db.read(lambda conn: stack_queries.list_agents(conn, stack.id))

    async def todos(self, key: str, *, status: str | None = None) -> builtins.list[TodoRow]:
        if status is not None and status not in TodoStatus.__members__.values():
            statuses = ", ".join(s.value for s in TodoStatus)
            raise InvalidInput(f"status must be one of {statuses}", field="status")
        stack = await self.get(key)
        return await self._db.read(
            lambda conn: board_queries.list_todos(conn, stack.id, status=status)
        )

    async def messages(
        self,
        key: str,
        *,
        to_role: str | None = None,
        unread: bool = False,
        broadcasts: bool = False,
    ) -> builtins.list[MessageRow]:
        if to_role is not None and to_role not in {r.value for r in ROLES}:
            raise InvalidInput(f"no role {to_role!r}", field="to_role")
        stack = await self.get(key)
        return await self._db.read(
            lambda conn: board_queries.list_messages(
                conn, stack.id, to_role=to_role, unread=unread, broadcasts=broadcasts
            )
        )

    async def broadcasts(self, limit: int = 50) -> builtins.list[MessageRow]:
        """The broadcast channel every stack shares, newest last."""
        return await self._db.read(lambda conn: board_queries.list_broadcasts(conn, limit))

    async def broadcast(self, body: str, *, stack_id: str | None = None) -> MessageRow:
        """A person's message on the broadcast channel, read by every stack's communicator."""
        body = _text(body, "body", MAX_BODY) or ""
        if not body:
            raise InvalidInput("say something: the body is empty", field="body")
        sender = (await self.get(stack_id)).id if stack_id else None
        now = self._deck.clock.now()
        key = new_id("msg")
        row: dict[str, Any] = {
            "key": key,
            "stack_id": None,
            "from_stack_id": sender,
            "from_role": "person",
            "to_role": None,
            "kind": MessageKind.BROADCAST.value,
            "body": body,
            "cycle": 0,
            "created_at": now,
        }

        def write(conn: Any) -> MessageRow:
            board_queries.add_messages(conn, [row])
            return board_queries.find_message(conn, key)

        message = await self._db.write(write)
        self._deck.notifier.publish(Topic.EVENT)
        return message

    async def artifacts(self, key: str) -> builtins.list[StackArtifactRow]:
        stack = await self.get(key)
        return await self._db.read(lambda conn: board_queries.list_artifacts(conn, stack.id))

    async def artifact(self, key: str, artifact_id: str) -> StackArtifactRow:
        stack = await self.get(key)
        check_text(artifact_id, "artifact")
        found = await self._db.read(
            lambda conn: board_queries.find_artifact(conn, stack.id, artifact_id)
        )
        if found is None:
            raise NotFound(f"stack {stack.name!r} has no artifact {artifact_id!r}")
        return found

    async def memory(self, key: str) -> dict[str, str]:
        return {a.role: a.memory for a in await self.agents(key)}

    async def cycles(
        self, key: str, *, before: int | None = None, limit: int = 50
    ) -> builtins.list[CycleRow]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500", field="limit")
        stack = await self.get(key)
        return await self._db.read(
            lambda conn: board_queries.list_cycles(conn, stack.id, before=before, limit=limit)
        )

    # --- steering ------------------------------------------------------------------------

    async def start(self, key: str) -> StackRow:
        return await self._one(key, StackAction.START)

    async def pause(self, key: str) -> StackRow:
        """No new cycle starts; agents executing finish, the rest of the cycle is skipped."""
        return await self._one(key, StackAction.PAUSE)

    async def resume(self, key: str) -> StackRow:
        return await self._one(key, StackAction.RESUME)

    async def stop(self, key: str) -> StackRow:
        return await self._one(key, StackAction.STOP)

    async def start_all(self) -> builtins.list[StackRow]:
        return await self._change(StackAction.START, None, "started by start all")

    async def pause_all(self) -> builtins.list[StackRow]:
        return await self._change(StackAction.PAUSE, None, "paused by pause all")

    async def stop_all(self) -> builtins.list[StackRow]:
        return await self._change(StackAction.STOP, None, "stopped by stop all")

    async def resume_all(self) -> builtins.list[StackRow]:
        return await self._change(StackAction.RESUME, None, "resumed by resume all")

    async def _one(self, key: str, action: StackAction) -> StackRow:
        stack = await self.get(key)
        move(stack.state, action)  # a clear 409 before the transaction
        changed = await self._change(action, [stack.id], f"{_PAST[action]} by a person")
        if not changed:  # its state changed meanwhile: say what it is now
            move((await self.get(stack.id)).state, action)
        return changed[0] if changed else await self.get(stack.id)

    async def _change(
        self, action: StackAction, ids: builtins.list[str] | None, reason: str
    ) -> builtins.list[StackRow]:
        if action in (StackAction.START, StackAction.RESUME) and not self._deck.registry.find(
            WORKFLOW
        ):
            raise Conflict(
                f"the {WORKFLOW!r} workflow is not registered here: no worker could run stacks"
            )
        now = self._deck.clock.now()
        changed = await self._db.write(
            lambda conn: stack_queries.change_states(
                conn, now, action, ids, lambda s: self._run_row(s, now), reason
            )
        )
        self.board.forget(s.id for s in changed)
        self._deck.notifier.publish(Topic.READY)
        self._deck.notifier.publish(Topic.EVENT)
        return changed

    def _run_row(self, stack: StackRow, now: Any) -> dict[str, Any]:
        inputs = {"stack_id": stack.id, "cycle": stack.cycles + 1}
        return {
            "id": new_id("run"),
            "workflow": WORKFLOW,
            "status": RunStatus.QUEUED,
            "inputs": inputs,
            "priority": 0,
            "due_at": now,
            "idempotency_key": None,
            "agents": None,
            "created_at": now,
            "updated_at": now,
        }

    # --- scale and budget ------------------------------------------------------------------

    async def set_scale(self, scale: int | None, *, stack_id: str | None = None) -> dict[str, Any]:
        """How many agent executions may run at once: across all stacks (None: the
        setting's), or for one stack (None: no cap of its own). Read on the next dispatch."""
        if scale is not None and (
            isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE
        ):
            raise InvalidInput(f"scale must be an integer from 0 to {MAX_SCALE}", field="scale")
        now = self._deck.clock.now()
        if stack_id is None:
            await self._db.write(lambda conn: stack_queries.set_global_scale(conn, now, scale))
        else:
            stack = await self.get(stack_id)
            await self._db.write(
                lambda conn: stack_queries.update_stack(conn, stack.id, now, scale=scale)
            )
        await self.board.refresh_scale()
        self._deck.notifier.publish(Topic.EVENT)
        return await self.scale()

    async def scale(self) -> dict[str, Any]:
        """The global scale in force, the setting's default, and executions in flight here."""
        chosen = await self._db.read(stack_queries.global_scale)
        default = self._deck.settings.stack_scale
        return {
            "scale": default if chosen is None else chosen,
            "default": default,
            "custom": chosen is not None,
            "in_flight": self.board.pool.in_flight,
        }

    async def set_budget(self, key: str, budget_usd: float | Decimal | str | None) -> StackRow:
        """Change a stack's budget; a stack parked by its budget is then resumed by a person."""
        budget = _budget(budget_usd)
        stack = await self.get(key)
        now = self._deck.clock.now()
        await self._db.write(
            lambda conn: stack_queries.update_stack(conn, stack.id, now, budget_usd=budget)
        )
        return await self.get(stack.id)


_PAST = {
    StackAction.START: "started",
    StackAction.PAUSE: "paused",
    StackAction.RESUME: "resumed",
    StackAction.STOP: "stopped",
}


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a stack needs a name", field="name")
    text: str = name.strip()
    check_text(text, "name")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"a stack's name is at most {MAX_NAME} characters", field="name")
    return text


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    check_text(value, field)
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters", field=field)
    return value or None


def _budget(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("budget_usd must be an amount of USD", field="budget_usd")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(
            f"budget_usd must be an amount of USD, not {value!r}", field="budget_usd"
        ) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput("budget_usd must be 0 or more", field="budget_usd")
    return amount
