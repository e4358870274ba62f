"""The build workflow: review → plan → approve → per phase execute, test, diff, approve, commit.

Steps: `review:analysis`, `llm:review`, `review:saved`, `llm:plan:<n>`, `plan:<n>` (n-th
plan, one more for each "request changes" at the plan gate), `worktree`, the phase steps
of `phases`, `push`, `worktree:remove`. Gates: `plan` (approval `whole`), `phase <id>`
(approval `per-phase`), `diff <id>` (each phase's diff, unless `diff_approval` is off).
The worktree lives on branch `agentdeck/<run-id>`; it is removed at the end, the branch
stays.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.agents import runner_of
from agentdeck.agents.modes import BUILD_ROLES, Mode, ModeTable, modes_of
from agentdeck.agents.workspace import analyze
from agentdeck.agents.workspace import git as gitops
from agentdeck.domain.gates import GateDecision
from agentdeck.domain.retry import NO_RETRY
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.llm.config import DEFAULT_ENDPOINTS
from agentdeck.llm.names import parse_model_name
from agentdeck.workflows.build.notices import BudgetWatch, notify
from agentdeck.workflows.build.phases import BuildStopped, PhaseSetup, run_phase, wait_at_gate
from agentdeck.workflows.build.plan import estimate, parse_plan
from agentdeck.workflows.build.prompts import plan_prompt, review_prompt

NAME = "build"
_AGENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class PlanApproval(StrEnum):
    WHOLE = "whole"
    PER_PHASE = "per-phase"
    NONE = "none"


class BuildInputs(BaseModel):
    """Inputs of a build run."""

    model_config = ConfigDict(extra="forbid", title="Build: review → plan → execute")

    repository: str = Field(
        min_length=1,
        max_length=1000,
        title="Repository",
        description="Absolute path of the git repository to build in.",
    )
    repository_id: str | None = Field(None, max_length=64, title="Registered repository id")
    request: str = Field(min_length=1, max_length=4000, title="Request")
    mode: Mode = Field(Mode.BALANCED, title="Mode")
    plan_approval: PlanApproval = Field(PlanApproval.WHOLE, title="Plan approval")
    diff_approval: bool = Field(True, title="Approve each phase's diff")
    max_phases: int | None = Field(None, ge=1, le=20, title="Phases to execute (empty: all)")
    max_revisions: int = Field(3, ge=0, le=10, title="Revisions per phase")
    orchestrator: str = Field("orchestrator", pattern=_AGENT, title="Orchestrator agent")
    orchestrator_model: str | None = Field(
        None,
        max_length=200,
        title="Orchestrator model",
        description="`provider:model` for the review and the plan; empty: the mode's choice.",
    )
    mode_overrides: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        title="Mode overrides",
        description="role -> task kind (or `default`) -> model chain, laid over the mode's "
        "table; the dashboard's overrides when the build started.",
    )
    push_remote: str | None = Field(None, max_length=1000, title="Push to remote")
    worktrees_dir: str | None = Field(None, max_length=1000, title="Worktrees folder")
    test_command: str | None = Field(
        None,
        max_length=1000,
        title="Test command",
        description="Run in the sandbox after each phase; empty: the one the review detected.",
    )
    test_timeout_s: float = Field(300, gt=0, le=3600, title="Test timeout (s)")
    budget_usd: float | None = Field(
        None,
        ge=0,
        title="Budget (USD)",
        description="Alerts at 50, 80 and 100 %; a call that would exceed it waits for a "
        "person to raise it.",
    )
    webhook_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https?://",
        title="Webhook",
        description="Receives a Slack-compatible JSON message when the build waits at a "
        "gate, finishes, fails or crosses a budget threshold.",
    )

    @field_validator("orchestrator_model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        return None if not value else parse_model_name(value, DEFAULT_ENDPOINTS).id


class BuildRejected(BuildStopped):
    """A person rejected the plan."""


async def build(ctx: RunContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Review the repository, plan, and execute the approved phases in a git worktree."""
    inputs = BuildInputs.model_validate(raw)
    watch = BudgetWatch(inputs.budget_usd, inputs.webhook_url)
    try:
        result = await _build(ctx, inputs, watch)
    except Exception as error:
        await notify(
            ctx, inputs.webhook_url, "failed", f"Build {ctx.run_id} failed: {error}"[:2000]
        )
        raise
    text = f"Build {ctx.run_id} finished: {result['phases_committed']} phase(s) committed"
    await notify(ctx, inputs.webhook_url, "finished", text, branch=result["branch"])
    return result


async def _build(ctx: RunContext, inputs: BuildInputs, watch: BudgetWatch) -> dict[str, Any]:
    repo = Path(inputs.repository)
    modes = modes_of(ctx).with_overrides(inputs.mode, inputs.mode_overrides)
    facts, findings = await _review(ctx, inputs, repo, modes, watch)
    plan = await _approved_plan(ctx, inputs, facts, modes, watch)
    phases = plan["phases"][: inputs.max_phases] if inputs.max_phases else plan["phases"]
    worktree = await _worktree(ctx, inputs, repo)
    setup = PhaseSetup(
        worktree=worktree,
        facts={k: v for k, v in facts.items() if k != "review"},
        mode=inputs.mode,
        modes=modes,
        test_command=inputs.test_command or facts.get("test_command"),
        test_timeout_s=inputs.test_timeout_s,
        diff_approval=inputs.diff_approval,
        max_revisions=inputs.max_revisions,
        watch=watch,
    )
    commits: list[dict[str, Any]] = []
    stopped: str | None = None
    try:
        for number, phase in enumerate(phases, start=1):
            note = None
            if inputs.plan_approval == PlanApproval.PER_PHASE:
                gate = f"phase {phase['id']}"
                decision = await wait_at_gate(ctx, watch, gate, f"gate:{gate}")
                if decision.decision == GateDecision.REJECT:
                    stopped = f"phase {phase['id']} not started: {decision.comment or 'rejected'}"
                    break
                note = decision.comment
            commits.append(await run_phase(ctx, setup, phase, note))
            await ctx.set_progress(progress=number / len(phases))
        pushed = await _push(ctx, inputs, repo, bool(commits))
    except Exception:
        # a failed or rejected build leaves no worktree; a run waiting at a gate
        # (Suspend, a BaseException) keeps it for when the decision comes
        await _remove_worktree(ctx, repo, worktree)
        raise
    await _remove_worktree(ctx, repo, worktree)
    ctx.emit("build.finished", f"build finished: {len(commits)} phase(s) committed")
    await ctx.set_progress(stage=None, verdict="stopped" if stopped else "committed")
    return {
        "branch": _branch(ctx),
        "commits": commits,
        "phases_planned": len(plan["phases"]),
        "phases_committed": len(commits),
        "stopped": stopped,
        "pushed_to": pushed,
        "findings": findings,
        "totals": plan["totals"],
        "spent_usd": str(watch.spent),
    }


def _orchestrator_models(inputs: BuildInputs, modes: ModeTable) -> list[str]:
    chain = modes.chain(inputs.mode, "orchestrator")
    if inputs.orchestrator_model:
        return [inputs.orchestrator_model, *(m for m in chain if m != inputs.orchestrator_model)]
    return chain


def _branch(ctx: RunContext) -> str:
    return f"agentdeck/{ctx.run_id}"


async def _review(
    ctx: RunContext, inputs: BuildInputs, repo: Path, modes: ModeTable, watch: BudgetWatch
) -> tuple[dict[str, Any], list[str]]:
    """The deterministic analysis and the orchestrator's summary, stored as artifacts."""
    if not ctx.is_replayed("review:analysis"):
        await ctx.set_progress(stage="reviewing", progress=0.0)

    async def analysis() -> dict[str, Any]:
        if not gitops.is_repository(repo):
            raise BuildStopped(f"{repo} is not the top of a git repository")
        found = await asyncio.to_thread(analyze, repo)
        return {"facts": found.facts(), "findings": found.findings(), "full": found.as_json()}

    done: dict[str, Any] = await ctx.step("review:analysis", analysis, retry=NO_RETRY)
    facts, findings = done["facts"], done["findings"]
    runner = runner_of(ctx)
    reply = await runner.run(
        ctx,
        inputs.orchestrator,
        review_prompt(inputs.request, facts),
        key="review",
        role="build-review",
        models=_orchestrator_models(inputs, modes),
    )
    await watch.add(ctx, reply.cost_usd)

    async def save() -> bool:
        await ctx.artifact("review.json", json.dumps(done["full"]), media_type="application/json")
        await ctx.artifact("review.md", reply.text)
        ctx.emit("build.reviewed", " ".join(findings), findings=findings)
        return True

    saved: bool = await ctx.step("review:saved", save, retry=NO_RETRY)
    assert saved
    return {**facts, "review": reply.text[:4000]}, findings


async def _approved_plan(
    ctx: RunContext,
    inputs: BuildInputs,
    facts: dict[str, Any],
    modes: ModeTable,
    watch: BudgetWatch,
) -> dict[str, Any]:
    """Plans until one is approved (or approval is not asked); a rejection stops the build."""
    feedback: str | None = None
    roles = [r for r in modes.roles(inputs.mode) if r != "orchestrator"]
    for n in range(1, inputs.max_revisions + 2):
        plan = await _plan(ctx, inputs, facts, modes, roles, n, feedback)
        await watch.add(ctx, plan.pop("_cost", None))
        if inputs.plan_approval != PlanApproval.WHOLE:
            return plan
        decision = await wait_at_gate(ctx, watch, "plan", f"gate:plan:{n}")
        if decision.decision == GateDecision.APPROVE:
            return plan
        if decision.decision == GateDecision.REJECT:
            raise BuildRejected(
                "plan rejected" + (f": {decision.comment}" if decision.comment else "")
            )
        feedback = decision.comment
    raise BuildRejected(f"the plan was not approved after {inputs.max_revisions} revisions")


async def _plan(
    ctx: RunContext,
    inputs: BuildInputs,
    facts: dict[str, Any],
    modes: ModeTable,
    roles: list[str],
    n: int,
    feedback: str | None,
) -> dict[str, Any]:
    if not ctx.is_replayed(f"llm:plan:{n}"):
        await ctx.set_progress(stage="planning")
    review = str(facts.get("review", ""))
    brief = {k: v for k, v in facts.items() if k != "review"}
    reply = await runner_of(ctx).run(
        ctx,
        inputs.orchestrator,
        plan_prompt(inputs.request, brief, review, roles, feedback),
        key=f"plan:{n}",
        role="build-plan",
        models=_orchestrator_models(inputs, modes),
    )

    async def validate() -> dict[str, Any]:
        # InvalidPlan fails this step, and with it the run, before any worktree exists
        plan = estimate(parse_plan(reply.json(), roles), modes, inputs.mode)
        await ctx.artifact(f"plan-{n}.json", json.dumps(plan), media_type="application/json")
        totals = plan["totals"]
        ctx.emit(
            "build.planned",
            f"plan {n}: {totals['phases']} phase(s), {totals['tasks']} task(s), "
            f"{totals['estimate_hours']:g} h, ${totals['cost_usd']} projected",
            revision=n,
            **totals,
        )
        return plan

    plan: dict[str, Any] = await ctx.step(f"plan:{n}", validate, retry=NO_RETRY)
    return {**plan, "_cost": reply.cost_usd}


async def _worktree(ctx: RunContext, inputs: BuildInputs, repo: Path) -> Path:
    base = Path(inputs.worktrees_dir or Path(tempfile.gettempdir()) / "agentdeck-worktrees")
    path = base / ctx.run_id

    async def add() -> str:
        await asyncio.to_thread(gitops.add_worktree, repo, path, _branch(ctx))
        ctx.emit("build.worktree", f"worktree {path} on {_branch(ctx)}", path=str(path))
        return str(path)

    where: str = await ctx.step("worktree", add, retry=NO_RETRY)
    # a worker that resumes the build re-creates a worktree lost with its machine
    await asyncio.to_thread(gitops.add_worktree, repo, Path(where), _branch(ctx))
    return Path(where)


async def _push(ctx: RunContext, inputs: BuildInputs, repo: Path, any_commit: bool) -> str | None:
    remote = inputs.push_remote
    if not remote or not any_commit:
        return None

    async def push() -> str:
        await asyncio.to_thread(gitops.push, repo, remote, _branch(ctx))
        ctx.emit("build.pushed", f"{_branch(ctx)} pushed to {remote}", remote=remote)
        return remote

    pushed: str = await ctx.step("push", push, retry=NO_RETRY)
    return pushed


async def _remove_worktree(ctx: RunContext, repo: Path, worktree: Path) -> None:
    async def remove() -> bool:
        await asyncio.to_thread(gitops.remove_worktree, repo, worktree)
        return True

    removed: bool = await ctx.step("worktree:remove", remove, retry=NO_RETRY)
    assert removed


def register(registry: Registry) -> None:
    """Add the build workflow to `registry`."""
    registry.workflow(
        NAME,
        inputs=BuildInputs,
        description="Review a git repository, plan phases with estimates, and execute each "
        "approved phase in a worktree: coding agents, sandboxed tests, diff, commit.",
        agents=lambda i: [i.get("orchestrator") or "orchestrator", *BUILD_ROLES[1:]],
    )(build)
