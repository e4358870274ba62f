"""Re-running a finished run from one of its steps: a new run, linked to the original,
whose journal starts with a copy of the original's steps before the chosen one.

The new run replays the copied steps (their stored results, no new model calls) and
executes the chosen step and everything after it again. The artifacts the original wrote
before that step are copied too, so the new run's page shows them. A plan run is refused:
its tasks live outside the journal, and a retry starts it over instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.domain.events import EventKind
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import Run, RunStatus
from agentdeck.domain.topics import Topic
from agentdeck.store import runs as run_queries
from agentdeck.store.notify import notify, payload
from agentdeck.store.schema import artifacts, steps, tasks
from agentdeck.store.transitions import Change, record_events

RERUN = "run.rerun"  # the event on both runs, with the step and the other run's id


def rerun_from(step_key: str) -> Change:
    """The transition that forks a finished run at `step_key` (for transitions.steer)."""

    def change(conn: Connection, now: datetime, run: Run) -> str:
        if not RunStatus(run.status).finished:
            raise Conflict(f"run {run.id} is {run.status}; only a finished run is re-run")
        has_tasks = conn.execute(
            select(func.count()).select_from(tasks).where(tasks.c.run_id == run.id)
        ).scalar_one()
        if has_tasks:
            raise Conflict(
                f"run {run.id} is a plan run: its tasks are not in the journal, so it cannot "
                "be re-run from a step; retry it to start it over"
            )
        journal = list(
            conn.execute(select(steps).where(steps.c.run_id == run.id).order_by(steps.c.id))
        )
        cut = next((i for i, s in enumerate(journal) if s.key == step_key), None)
        if cut is None:
            known = ", ".join(s.key for s in journal[:12]) or "none"
            raise InvalidInput(
                f"run {run.id} has no step {step_key!r} (its steps: {known})", field="from_step"
            )
        kept = journal[:cut]
        fork = new_id("run")
        run_queries.insert_runs(
            conn,
            [
                {
                    "id": fork,
                    "workflow": run.workflow,
                    "status": RunStatus.QUEUED,
                    "inputs": run.inputs,
                    "priority": run.priority,
                    "due_at": now,
                    "agents": run.agents,
                    "retry_of": run.id,
                    "concurrency_key": run.concurrency_key,
                    "concurrency_limit": run.concurrency_limit,
                    # a first claim (epoch 1) loads no journal: this one must load the copy
                    "lease_epoch": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        if kept:
            conn.execute(
                steps.insert(),
                [
                    {
                        "run_id": fork,
                        "key": s.key,
                        "status": s.status,
                        "result": s.result,
                        "error": s.error,
                        "attempts": s.attempts,
                        "started_at": s.started_at,
                        "finished_at": s.finished_at,
                    }
                    for s in kept
                ],
            )
        before = journal[cut].started_at
        written = list(
            conn.execute(
                select(artifacts)
                .where(artifacts.c.run_id == run.id, artifacts.c.created_at < before)
                .order_by(artifacts.c.created_at)
            )
        )
        if written:
            conn.execute(
                artifacts.insert(),
                [{**a._mapping, "id": new_id("art"), "run_id": fork} for a in written],
            )
        said = f"{len(kept)} step(s) copied, from {step_key!r} on executed again"
        record_events(
            conn,
            [
                (
                    fork,
                    EventKind.SUBMITTED,
                    f"re-run of {run.id} from step {step_key!r}: {said}",
                    now,
                )
            ],
            {"rerun_of": run.id, "from_step": step_key, "copied_steps": len(kept)},
        )
        record_events(
            conn,
            [(run.id, RERUN, f"re-run from step {step_key!r} as {fork}", now)],
            {"rerun": fork, "from_step": step_key},
        )
        notify(conn, [payload(Topic.READY)])
        return fork

    return change
