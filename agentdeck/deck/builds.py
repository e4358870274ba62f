"""Builds: start a build on a registered repository, list the queue, read one, decide gates."""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentdeck.agents.modes import MODES, Mode, ModeTable, TaskKind
from agentdeck.deck.build_views import BuildView, build_view
from agentdeck.deck.repositories import Repositories, repository_json
from agentdeck.deck.submissions import MAX_PRIORITY
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.domain.gates import GateDecision
from agentdeck.domain.runs import Run, RunFilter
from agentdeck.llm.config import DEFAULT_ENDPOINTS
from agentdeck.llm.names import parse_model_name
from agentdeck.store import build_modes, build_queue, journal

if TYPE_CHECKING:
    from agentdeck.deck import Deck

WORKFLOW = "build"
QUEUED = ("queued", "running", "waiting", "paused")


class Builds:
    """The command and read side of builds; repositories are `builds.repositories`."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck
        self.repositories = Repositories(deck)
        self.modes = ModeTable.from_agents_file(deck.settings.agents_file)
        deck.services.provide(MODES, lambda: self.modes)

    async def start(
        self,
        repository: str,
        request: str,
        *,
        mode: str = "balanced",
        plan_approval: str = "whole",
        diff_approval: bool = True,
        max_phases: int | None = None,
        push: bool = False,
        priority: int = 0,
        not_before: datetime | None = None,
        budget_usd: float | None = None,
        test_command: str | None = None,
        orchestrator_model: str | None = None,
    ) -> Run:
        """Queue a build of `request` on a registered repository (by id or name)."""
        row = await self.repositories.get(repository)
        if push and not row.push_remote:
            raise InvalidInput(
                f"repository {row.name!r} has no push remote; register it with one", "push"
            )
        budget = budget_usd if budget_usd is not None else row.budget_usd
        settings = self._deck.settings
        inputs: dict[str, Any] = {
            "repository": row.path,
            "repository_id": row.id,
            "request": request,
            "mode": mode,
            "plan_approval": plan_approval,
            "diff_approval": diff_approval,
            "max_phases": max_phases,
            "push_remote": row.push_remote if push else None,
            "worktrees_dir": str(settings.resolved_builds_dir() / "worktrees"),
            "test_timeout_s": settings.build_test_timeout,
            "budget_usd": None if budget is None else float(budget),
            "test_command": test_command,
            "webhook_url": settings.build_webhook_url,
            "orchestrator_model": orchestrator_model or None,
            # the dashboard's overrides as they are now: a later edit leaves this build alone
            "mode_overrides": (await self.overrides()).get(mode, {}),
        }
        return await self._deck.submit(WORKFLOW, inputs, priority=priority, not_before=not_before)

    async def overrides(self) -> dict[str, dict[str, dict[str, builtins.list[str]]]]:
        """The dashboard's mode overrides: mode -> role -> kind (or "default") -> models."""
        rows = await self._deck.db.read(build_modes.list_overrides)
        out: dict[str, dict[str, dict[str, builtins.list[str]]]] = {}
        for mode, role, kind, models in rows:
            out.setdefault(mode, {}).setdefault(role, {})[kind] = models
        return out

    async def effective_modes(self) -> ModeTable:
        """The agents file's table with the dashboard's overrides laid over it."""
        table = self.modes
        for mode, roles in (await self.overrides()).items():
            table = table.with_overrides(mode, roles)
        return table

    def _mode_key(self, mode: str, role: str, kind: str) -> tuple[str, str, str]:
        if mode not in {m.value for m in Mode}:
            known = ", ".join(m.value for m in Mode)
            raise InvalidInput(f"unknown mode {mode!r} (known: {known})", "mode")
        roles = self.modes.roles(mode)
        if role not in roles:
            raise InvalidInput(f"no role {role!r} (known: {', '.join(roles)})", "role")
        kinds = ["default", *(k.value for k in TaskKind)]
        if kind not in kinds:
            raise InvalidInput(f"unknown task kind {kind!r} (known: {', '.join(kinds)})", "kind")
        return mode, role, kind

    async def set_mode(
        self, mode: str, role: str, kind: str, models: builtins.list[str]
    ) -> ModeTable:
        """Override the chain of `role` in `mode` for task `kind` ("default": any other kind)."""
        key = self._mode_key(mode, role, kind)
        if not 1 <= len(models) <= 10:
            raise InvalidInput("give from 1 to 10 models, `provider:model` each", "models")
        chain: builtins.list[str] = []
        for name in models:
            try:
                chain.append(parse_model_name(name.strip(), DEFAULT_ENDPOINTS).id)
            except (InvalidInput, ValueError) as error:
                raise InvalidInput(f"model {name!r}: {error}", "models") from None
        now = self._deck.clock.now()
        await self._deck.db.write(lambda conn: build_modes.set_override(conn, *key, chain, now))
        return await self.effective_modes()

    async def reset_mode(self, mode: str, role: str, kind: str) -> ModeTable:
        """Back to the agents file's chain for (mode, role, kind)."""
        key = self._mode_key(mode, role, kind)
        await self._deck.db.write(lambda conn: build_modes.clear_override(conn, *key))
        return await self.effective_modes()

    async def list(self, *, limit: int = 200) -> builtins.list[Run]:
        """The queue first (highest priority, then oldest), then finished builds, newest first."""
        page = await self._deck.list(RunFilter(workflow=WORKFLOW), limit=limit)
        waiting = [r for r in page.items if r.status in QUEUED]
        waiting.sort(key=lambda r: (-r.priority, r.due_at, r.created_at))
        done = [r for r in page.items if r.status not in QUEUED]
        return waiting + done

    async def get(self, run_id: str) -> BuildView:
        run = await self._deck.get(run_id)
        if run.workflow != WORKFLOW:
            raise NotFound(f"run {run_id!r} is not a build")
        artifacts = await self._deck.artifacts(run_id)
        events = await self._deck.events(run_id, limit=5000)
        usage = await self._deck.costs.by_agent(run_id=run_id)
        repository = None
        repository_id = run.inputs.get("repository_id")
        if repository_id:
            found = await self.repositories.find(repository_id)
            repository = repository_json(found) if found else None
        return build_view(run, artifacts, events, usage, repository)

    async def decide(
        self, run_id: str, gate: str, decision: GateDecision | str, comment: str | None = None
    ) -> Run:
        """A person's decision at the build's gate (plan, phase P1, diff P1...)."""
        view = await self.get(run_id)
        if view.gate != gate:
            where = f"waits at {view.gate!r}" if view.gate else "waits at no gate"
            raise InvalidInput(f"build {run_id} {where}, not at {gate!r}", "gate")
        return await self._deck.decide(run_id, gate, decision, comment)

    async def reprioritize(self, run_id: str, priority: int) -> Run:
        """Move a queued, waiting or paused build up (higher) or down the queue."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidInput("priority must be an integer", "priority")
        if not 0 <= priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be between 0 and {MAX_PRIORITY}", "priority")
        run = await self._deck.get(run_id)
        now = self._deck.clock.now()
        changed = await self._deck.db.write(
            lambda conn: build_queue.set_priority(conn, run_id, WORKFLOW, priority, now)
        )
        if not changed:
            if run.workflow != WORKFLOW:
                raise NotFound(f"run {run_id!r} is not a build")
            raise Conflict(f"build {run_id} is {run.status}: only a build in the queue moves")
        return await self._deck.get(run_id)

    async def budget_alerts(self, limit: int = 5) -> builtins.list[dict[str, Any]]:
        """The unfinished builds that crossed a budget threshold, each with its latest one
        (every dashboard page shows them until the build finishes)."""
        found = await self._deck.db.read(
            lambda conn: journal.latest_events_of_kind(conn, "build.budget_alert", QUEUED, limit)
        )
        out = []
        for event in found:
            run = await self._deck.get(event.run_id)
            data = event.data if isinstance(event.data, dict) else {}
            out.append(
                {
                    "run_id": run.id,
                    "request": run.inputs.get("request") or run.id,
                    "percent": data.get("threshold"),
                    "spent_usd": data.get("spent_usd"),
                    "budget_usd": data.get("budget_usd"),
                }
            )
        return out

    async def cost_by_repository(self) -> dict[str, Decimal]:
        """What the builds of each repository cost so far, by repository id."""
        page = await self._deck.list(RunFilter(workflow=WORKFLOW), limit=500)
        out: dict[str, Decimal] = {}
        for run in page.items:
            key = str(run.inputs.get("repository_id") or run.inputs.get("repository"))
            out[key] = out.get(key, Decimal(0)) + run.cost_usd
        return out


__all__ = ["BuildView", "Builds"]
