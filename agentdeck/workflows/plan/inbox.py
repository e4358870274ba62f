"""Inbox: what reaches a plan run from outside and how it escalates: external agents' reports
(a signal on `plan.tasks`), people's resolutions of blocked tasks, the `human review` gate."""

from __future__ import annotations

import json
from typing import Any

from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.runs import WaitKind
from agentdeck.domain.tasks import (
    INBOX,
    MARK_DONE,
    RELEASE_HOLD,
    REVIEW_GATE,
    SKIP,
    Executor,
    Resolution,
)
from agentdeck.workflows.plan.moves import TaskMoves
from agentdeck.workflows.plan.policy import (
    Leaf,
    S,
    clip,
    offered_outside,
)


class Inbox(TaskMoves):
    """Waiting for, and reading, the news of tasks run elsewhere or unblocked by people."""

    async def _idle(self) -> None:
        """Nothing internal to do: wait for external agents, else for a person."""
        external = [x for x in self.leaves.values() if offered_outside(x)]
        blocked = [x for x in self.leaves.values() if x.status == S.BLOCKED]
        if not external and not blocked and not self._inbox_first:
            stuck = [x.key for x in self.leaves.values() if not x.status.finished]
            raise AgentdeckError(f"plan cannot progress; stuck tasks: {', '.join(stuck)}")
        if external or self._inbox_first:
            self._inbox_first = False
            await self._save_progress(
                stage=f"waiting for external agents ({len(external)} tasks)", force=True
            )
            await self.ctx.tasks.flush()
            payload, live = await self._wait(INBOX, WaitKind.SIGNAL)
            self._receive(payload, live)
        else:
            await self._save_progress(stage=REVIEW_GATE, force=True)
            await self.ctx.tasks.flush()
            payload, live = await self._wait(REVIEW_GATE, WaitKind.GATE)
            self._decide(payload, live)

    async def _wait(self, name: str, kind: WaitKind) -> tuple[Any, bool]:
        """The next signal or gate decision, and whether it is new (not replayed)."""
        channel = f"gate:{name}" if kind == WaitKind.GATE else name
        live = not self.ctx.is_replayed(f"signal:{channel}:{self._next(channel)}")
        return await self.ctx.wait_for_signal(name, kind=kind), live

    # --- what arrives from outside ---------------------------------------------------

    def _receive(self, payload: Any, live: bool) -> None:
        if not isinstance(payload, dict):
            return
        if payload.get("kind") == "report":
            self._report(payload)
        elif payload.get("kind") == "resolve":
            self._resolve(payload, live)

    def _report(self, report: dict[str, Any]) -> None:
        """An external agent's outcome (already stored by the board); stale ones are ignored."""
        leaf = self.leaves.get(str(report.get("task")))
        if leaf is None or not offered_outside(leaf) or report.get("attempt") != leaf.attempt:
            return
        status = report.get("status")
        if status == S.COMPLETED:
            output = report.get("output")
            leaf.output = output if isinstance(output, str) else json.dumps(output or "")
            leaf.status = S.COMPLETED
            self._satisfy(leaf)
        elif status == S.FAILED:
            leaf.status = S.FAILED
            leaf.error = str(report.get("error") or "failed")
            self._after_failure(leaf, bool(report.get("retryable", True)))
        elif status == S.BLOCKED:
            leaf.status = S.BLOCKED
            leaf.held = False

    def _decide(self, payload: Any, live: bool) -> None:
        """A decision at the gate: approve (data.action, default retry), reject (skip), or
        request changes (retry, with the comment shown to the next attempt)."""
        if not isinstance(payload, dict):
            return
        decision = payload.get("decision")
        action = payload.get("action")
        if decision == "reject":
            action = action if action in (Resolution.SKIP, Resolution.DONE) else Resolution.SKIP
        elif decision == "changes":
            action = action if action == Resolution.REASSIGN else Resolution.RETRY
        self._resolve({**payload, "action": action or Resolution.RETRY}, live)

    def _resolve(self, request: dict[str, Any], live: bool) -> None:
        """A person's resolution of a blocked task (the first blocked one if none is named)."""
        if request.get("action") == "recheck":
            self._inbox_first = True
            return
        named = request.get("task")
        leaf = (
            self.leaves.get(str(named))
            if named
            else next((x for x in self.leaves.values() if x.status == S.BLOCKED), None)
        )
        note = request.get("comment") or request.get("note")
        if leaf is None or leaf.status != S.BLOCKED:
            if live:
                self.ctx.emit(
                    "task.resolution_ignored",
                    f"task {named} is not blocked: nothing to resolve",
                    task=named,
                )
            return
        try:
            action = Resolution(request.get("action") or Resolution.RETRY)
        except ValueError:
            action = Resolution.RETRY
        by = request.get("by")
        said = f" by {by}" if by else ""
        if action == Resolution.SKIP:
            reason = note or "skipped by a person; its dependents go ahead"
            event = ("task.skipped", reason + said)
            self._write(leaf, SKIP, values={"reason": reason}, event=event)
            leaf.status = S.SKIPPED
            self._satisfy(leaf)
        elif action == Resolution.DONE:
            leaf.output = note or "marked done by a person"
            self._write(
                leaf,
                MARK_DONE,
                values={
                    "output": {"text": leaf.output, "by": by, "marked_done": True},
                    "reason": None,
                    "finished_at": self.ctx.now(),
                },
                event=("task.completed", f"marked done{said}: {clip(leaf.output, 300)}"),
            )
            leaf.status = S.COMPLETED
            self._satisfy(leaf)
        else:
            if action == Resolution.REASSIGN:
                self._reassign(leaf, request)
            leaf.note = note
            if leaf.held:
                leaf.reviewed = True
                leaf.held = False
                self._write(
                    leaf,
                    RELEASE_HOLD,
                    values={**self._placement(leaf, 0.0), "reason": None},
                    event=("task.approved", f"approved{said}; it runs now"),
                )
                leaf.status = S.READY
                self._dispatch(leaf, 0.0)
            else:
                leaf.tries = 0
                self._retry(leaf, 0.0, f"{action.value}{said}")

    def _reassign(self, leaf: Leaf, request: dict[str, Any]) -> None:
        external = request.get("external_agent")
        agent = request.get("agent")
        if external:
            leaf.executor, leaf.agent, leaf.target = Executor.EXTERNAL, None, str(external)
        elif agent:
            leaf.executor, leaf.agent, leaf.target = Executor.INTERNAL, str(agent), None
        elif request.get("executor") in (Executor.INTERNAL, Executor.EXTERNAL):
            leaf.executor = Executor(request["executor"])
            leaf.target = None
            internal = leaf.executor == Executor.INTERNAL
            leaf.agent = self._agent_for(leaf) if internal else None
