"""TaskBoard: the command side of plan runs' tasks, for the API, the pages and the CLI.

The plan workflow writes its tasks itself (`ctx.tasks`, through its worker's fenced
writer); the board reads them, registers external agents, hands tasks out to them and
takes their reports (engine/external/), runs the sweeper that returns what they drop,
and lets people resolve blocked tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentdeck.domain.errors import IllegalTransition, InvalidInput, NotFound
from agentdeck.domain.external_agents import ExternalAgentRow
from agentdeck.domain.plans import TaskGraph
from agentdeck.domain.runs import Run, RunStatus, WaitKind
from agentdeck.domain.tasks import INBOX, REVIEW_GATE, Resolution, TaskRow, TaskStatus
from agentdeck.domain.topics import Topic
from agentdeck.engine.external.dispatcher import Dispatcher, Report
from agentdeck.engine.external.sweeper import Sweep, Sweeper
from agentdeck.engine.external.tokens import AgentUnauthorized, ExternalAgents, Registered
from agentdeck.store import external_agents as agent_queries
from agentdeck.store import tasks as task_queries
from agentdeck.workflows.plan import PlanFormat, format_of, read_plan

if TYPE_CHECKING:
    from agentdeck.deck import Deck

log = logging.getLogger(__name__)
EVENT_WAKE_DELAY = 0.05  # coalesce cross-process wake-ups of waiting polls

__all__ = [
    "AgentUnauthorized",
    "Registered",
    "Report",
    "Sweep",
    "TaskBoard",
]


class TaskBoard:
    """Plan runs' tasks: stored for the workflow, handed to external agents, resolved by people."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck
        settings = deck.settings
        self.agents = ExternalAgents(deck.db, deck.clock)
        self.dispatcher = Dispatcher(
            deck.db,
            deck.clock,
            deck.notifier,
            settings.task_lease_interval,
            settings.poll_interval,
        )
        self.sweeper = Sweeper(
            deck.db,
            deck.clock,
            deck.notifier,
            max_expirations=settings.task_max_lease_expirations,
            unreachable_after=settings.external_agent_unreachable_after,
            on_returned=self.dispatcher.wake,
            recheck=self._recheck,
        )
        self._sweep_interval = settings.task_sweep_interval.total_seconds()
        self._sweeping: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._wake_scheduled = False

    # --- life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Start sweeping (and, on PostgreSQL, waking polls on other processes' offers).

        Called by whatever first uses the board in a running event loop: a plan run, an
        API request. Idempotent.
        """
        running = self._sweeping
        if running is not None and not running.done():
            if running.get_loop() is asyncio.get_running_loop():
                return
            stop_task(running)  # left in another event loop (a test client's): start anew
        self._sweeping = asyncio.create_task(self._sweep_loop(), name="agentdeck-task-sweeper")
        if self._deck.db.is_postgres and self._unsubscribe is None:
            self._unsubscribe = self._deck.notifier.subscribe(self._on_notice)

    async def aclose(self) -> None:
        if self._sweeping is not None:
            await stop_task_and_wait(self._sweeping)
            self._sweeping = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweeper.sweep()
            except Exception:
                log.exception("task sweep failed")
            await asyncio.sleep(self._sweep_interval)

    def _on_notice(self, topic: Topic, run_id: str | None) -> None:
        """Offers made by another process arrive as events: let waiting polls look again."""
        if topic != Topic.EVENT or self._wake_scheduled:
            return
        self._wake_scheduled = True

        def wake() -> None:
            self._wake_scheduled = False
            self.dispatcher.wake()

        asyncio.get_running_loop().call_later(EVENT_WAKE_DELAY, wake)

    def on_task_writes(self, offers: bool) -> None:
        """A worker of this Deck stored task changes: sweep from now on; wake waiting polls
        when tasks were offered to external agents."""
        self.start()
        if offers:
            self.dispatcher.wake()

    # --- reading ---------------------------------------------------------------

    async def tasks(self, run_id: str) -> list[TaskRow]:
        """A run's tasks in plan order (those of an ended run are shown cancelled)."""
        run = await self._deck.get(run_id)
        db, now = self._deck.db, self._deck.clock.now()
        if run.status in (RunStatus.CANCELLED, RunStatus.FAILED):
            await db.write(lambda conn: task_queries.cancel_tasks_of_ended_runs(conn, now, run_id))
        return await db.read(lambda conn: task_queries.list_tasks(conn, run_id))

    async def task(self, task_id: str) -> TaskRow:
        found = await self._deck.db.read(lambda conn: task_queries.find_task(conn, task_id))
        if found is None:
            raise NotFound(f"no task with id {task_id!r}")
        return found

    def check_plan(
        self, plan: dict[str, Any] | list[Any] | str, form: PlanFormat | str
    ) -> tuple[PlanFormat, TaskGraph | None]:
        """Read a plan as the plan workflow would (InvalidPlan if it cannot); None for free
        text, which a planner agent would decompose."""
        found = format_of(plan, form)
        return found, read_plan(plan, found)

    # --- external agents ---------------------------------------------------------

    async def external_agents(self) -> list[tuple[ExternalAgentRow, int]]:
        """Every registered external agent with the number of tasks it holds."""
        return await self.agents.list()

    async def external_agent(self, agent_id: str) -> ExternalAgentRow:
        return await self.agents.get(agent_id)

    async def delete_external_agent(self, agent_id: str) -> None:
        """Delete a revoked external agent."""
        await self.agents.delete(agent_id)

    async def register(
        self, name: str, capabilities: Sequence[str], description: str | None = None
    ) -> Registered:
        return await self.agents.register(name, capabilities, description)

    async def revoke(self, agent_id: str) -> ExternalAgentRow:
        """Revoke the agent's token; the tasks it holds return to the pool."""
        await self.agents.get(agent_id)
        db, now = self._deck.db, self._deck.clock.now()
        await db.write(lambda conn: agent_queries.revoke(conn, agent_id, now))
        held = await db.read(lambda conn: task_queries.held_by(conn, [agent_id]))
        for task in held:
            await self.sweeper.release(task, "its agent was revoked")
        return await self.agents.get(agent_id)

    async def next_task(self, token: str | None, agent_id: str, wait: float) -> TaskRow | None:
        """Long poll: a task under a new lease for this agent, or None after `wait` seconds."""
        self.start()
        agent = await self.agents.authenticate(token, agent_id)
        return await self.dispatcher.next_task(agent, wait)

    @property
    def polls_waiting(self) -> int:
        """External agents' long polls waiting in this process for a task to be offered."""
        return self.dispatcher.waiting

    async def report(self, token: str | None, task_id: str, report: Report) -> TaskRow:
        """A report of the agent holding the task's current lease (409 for anyone else)."""
        self.start()
        agent = await self.agents.authenticate(token)
        return await self.dispatcher.report(agent, task_id, report)

    # --- people -----------------------------------------------------------------

    async def resolve(
        self,
        task_id: str,
        action: Resolution | str,
        *,
        note: str | None = None,
        agent: str | None = None,
        external_agent: str | None = None,
        by: str | None = None,
    ) -> Run:
        """Retry, reassign, mark done or skip a blocked task: the run's gate decision if it
        waits at the `human review` gate, else a signal it reads when it next looks."""
        try:
            action = Resolution(action)
        except ValueError:
            choices = ", ".join(r.value for r in Resolution)
            raise InvalidInput(f"action must be one of {choices}", field="action") from None
        task = await self.task(task_id)
        run_id, key = task.run_id, task.key
        if task.status != TaskStatus.BLOCKED:
            raise IllegalTransition("task", task.status, f"resolved ({action}): it is not blocked")
        if action == Resolution.REASSIGN:
            await self._check_assignee(agent, external_agent)
        data = {
            "task": key,
            "action": action.value,
            "agent": agent,
            "external_agent": external_agent,
            "by": by,
        }
        run = await self._deck.get(run_id)
        at_gate = run.status == RunStatus.WAITING and run.wait_kind == WaitKind.GATE
        if at_gate and run.waiting_on == REVIEW_GATE:
            decision = "reject" if action == Resolution.SKIP else "approve"
            return await self._deck.decide(run_id, REVIEW_GATE, decision, comment=note, data=data)
        return await self._deck.signal(run_id, INBOX, {"kind": "resolve", **data, "note": note})

    async def _check_assignee(self, agent: str | None, external_agent: str | None) -> None:
        if bool(agent) == bool(external_agent):
            raise InvalidInput(
                "to reassign, name either `agent` (internal) or `external_agent` (an id)",
                field="agent",
            )
        if agent:
            await self._deck.agents.get(agent)
        elif external_agent:
            found = await self.agents.get(external_agent)
            if found.status == "revoked":
                raise InvalidInput(f"external agent {external_agent} is revoked", field="agent")

    async def _recheck(self, run_id: str) -> None:
        await self._deck.decide(
            run_id,
            REVIEW_GATE,
            "approve",
            comment="a resolution arrived as the gate opened: reading it",
            data={"action": "recheck"},
        )

    async def sweep(self) -> Sweep:
        """One sweep now (tests and `agentdeck` commands; the loop sweeps on its own)."""
        return await self.sweeper.sweep()


def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel a task of this or of another event loop (thread-safely)."""
    loop = task.get_loop()
    if loop is _running_loop():
        task.cancel()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)


async def stop_task_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a task and, if it runs in this event loop, wait until it has stopped."""
    stop_task(task)
    if task.get_loop() is asyncio.get_running_loop():
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
