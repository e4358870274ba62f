"""One phase of a build: coding agents edit the worktree, tests run in the sandbox, the diff
waits at a gate, and an approved phase is committed.

Step keys (stable, so a resumed build repeats no edit and no paid call):
`read:<phase>:<task>:<r>`, `llm:code:<phase>:<task>:<r>`, `apply:<phase>:<task>:<r>`,
`tests:<phase>:<r>`, `diff:<phase>:<r>`, `commit:<phase>`, `discard:<phase>` — `r` the
revision (0, then one more for each "request changes").
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdeck.agents import runner_of
from agentdeck.agents.modes import ModeTable
from agentdeck.agents.workspace import PathRefused, Workspace, run_sandboxed
from agentdeck.agents.workspace import git as gitops
from agentdeck.agents.workspace.tools import working_in
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.gates import GateDecision
from agentdeck.domain.retry import NO_RETRY
from agentdeck.engine.context import GateResult, RunContext
from agentdeck.workflows.build.notices import BudgetWatch, notify
from agentdeck.workflows.build.prompts import code_prompt

MAX_FILE_CHARS = 20_000


class BuildStopped(AgentdeckError):
    """A person rejected the build at a gate, or its tests failed with no gate to ask."""


@dataclass(frozen=True)
class PhaseSetup:
    """What every phase of one build shares."""

    worktree: Path
    facts: dict[str, Any]
    mode: str
    modes: ModeTable
    test_command: str | None
    test_timeout_s: float
    diff_approval: bool
    max_revisions: int
    watch: BudgetWatch


async def run_phase(
    ctx: RunContext, setup: PhaseSetup, phase: dict[str, Any], note: str | None
) -> dict[str, Any]:
    """Execute `phase` until its diff is approved (then commit) or rejected (BuildStopped).

    `note` is a comment given when the phase was approved to start; the agents read it.
    """
    comment = note
    for revision in range(setup.max_revisions + 1):
        for task in phase["tasks"]:
            await _task(ctx, setup, phase, task, revision, comment)
        tests = await _tests(ctx, setup, phase["id"], revision)
        changes = await _diff(ctx, setup, phase["id"], revision)
        if not setup.diff_approval:
            if tests is not None and not tests["passed"]:
                raise BuildStopped(f"phase {phase['id']}: the tests failed; nothing committed")
            return await _commit(ctx, setup, phase, changes, tests)
        gate = f"diff {phase['id']}"
        decision = await wait_at_gate(ctx, setup.watch, gate, f"gate:{gate}:{revision}")
        if decision.decision == GateDecision.APPROVE:
            return await _commit(ctx, setup, phase, changes, tests)
        if decision.decision == GateDecision.REJECT:
            discarded: bool = await ctx.step(
                f"discard:{phase['id']}",
                lambda: asyncio.to_thread(_discard, setup.worktree),
                retry=NO_RETRY,
            )
            assert discarded
            raise BuildStopped(
                f"phase {phase['id']} rejected"
                + (f": {decision.comment}" if decision.comment else "")
            )
        comment = decision.comment
        ctx.emit(
            "build.changes_requested",
            f"phase {phase['id']}: changes requested: {comment}",
            phase=phase["id"],
            revision=revision + 1,
            comment=comment,
        )
    raise BuildStopped(
        f"phase {phase['id']}: still not approved after {setup.max_revisions} revisions"
    )


async def wait_at_gate(ctx: RunContext, watch: BudgetWatch, gate: str, notice: str) -> GateResult:
    """Wait for a person at `gate`, telling the webhook once that the build waits there."""
    if not ctx.is_replayed(f"notify:{notice}"):
        await ctx.set_progress(stage=f"waiting: {gate}")
    text = f"Build {ctx.run_id} waits for a decision at {gate!r}"
    await notify(ctx, watch.webhook_url, notice, text, gate=gate)
    return await ctx.wait_for_gate(gate)


async def _task(
    ctx: RunContext,
    setup: PhaseSetup,
    phase: dict[str, Any],
    task: dict[str, Any],
    revision: int,
    comment: str | None,
) -> None:
    agent = task["role"]
    key = f"{phase['id']}:{task['id']}:{revision}"
    runner = runner_of(ctx)
    if not ctx.is_replayed(f"llm:code:{key}"):
        configured = await runner.directory.configured(agent)
        ctx.emit(
            "build.agent_started",
            f"{agent} works on task {task['id']}: {task['title']}",
            agent=agent,
            phase=phase["id"],
            task=task["id"],
            revision=revision,
            skills=list(configured.spec.skills),
            model=task.get("model"),
        )
        await ctx.set_progress(stage=f"executing {phase['id']} · {task['id']} ({agent})")
    files = await ctx.step(
        f"read:{key}", lambda: _read_context(ctx, setup, task, agent), retry=NO_RETRY
    )
    prompt = code_prompt(
        _task_brief(task), setup.facts, files, comment, None if revision == 0 else "(revision)"
    )
    chain = setup.modes.chain(setup.mode, agent, task.get("kind"))
    # the agent's file tools (agents.yaml `tools:`) act on this build's worktree only
    with working_in(setup.worktree):
        reply = await runner.run(
            ctx, agent, prompt, key=f"code:{key}", role="build-code", models=chain
        )
    await setup.watch.add(ctx, reply.cost_usd)
    await ctx.step(f"apply:{key}", lambda: _apply(ctx, setup, agent, reply.json()), retry=NO_RETRY)


def _task_brief(task: dict[str, Any]) -> dict[str, Any]:
    fields = ("id", "title", "description", "role", "kind", "files")
    return {k: task[k] for k in fields if k in task}


def _read_context(
    ctx: RunContext, setup: PhaseSetup, task: dict[str, Any], agent: str
) -> dict[str, str]:
    """The files the task names that exist, and each base class's file: what the agent reads."""
    workspace = Workspace(setup.worktree)
    wanted = list(task.get("files") or [])
    wanted += [b["path"] for b in setup.facts.get("base_classes", {}).values()]
    out: dict[str, str] = {}
    for path in dict.fromkeys(wanted):
        try:
            text = workspace.read_file(path)
        except PathRefused:
            continue
        out[path] = text[:MAX_FILE_CHARS]
        ctx.emit("tool.called", f"{agent} read {path}", agent=agent, tool="read_file", path=path)
    return out


def _apply(ctx: RunContext, setup: PhaseSetup, agent: str, answer: Any) -> dict[str, Any]:
    """Write the files of an agent's answer through the confined file tools."""
    workspace = Workspace(setup.worktree)
    entries = answer.get("files") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        raise BuildStopped(f"{agent} answered without a `files` list: {str(answer)[:200]!r}")
    written, refused = [], []
    for entry in entries:
        if not isinstance(entry, dict):
            refused.append({"path": str(entry)[:200], "reason": "each file must be an object"})
            continue
        path, content = entry.get("path"), entry.get("content")
        if not isinstance(path, str) or not isinstance(content, str):
            refused.append({"path": str(path), "reason": "path and content must be strings"})
            continue
        try:
            written.append(workspace.write_file(path, content))
        except PathRefused as error:
            refused.append({"path": path, "reason": error.reason})
            ctx.emit(
                "tool.refused",
                f"{agent} may not write {path!r}: {error.reason}",
                agent=agent,
                tool="write_file",
                path=path,
            )
            continue
        ctx.emit("tool.called", f"{agent} wrote {path}", agent=agent, tool="write_file", path=path)
    summary = answer.get("summary") if isinstance(answer, dict) else None
    return {"agent": agent, "written": written, "refused": refused, "summary": summary}


async def _tests(
    ctx: RunContext, setup: PhaseSetup, phase_id: str, revision: int
) -> dict[str, Any] | None:
    command = setup.test_command
    if command is None:
        return None

    async def run() -> dict[str, Any]:
        await ctx.set_progress(stage=f"testing {phase_id}")
        outcome = await run_sandboxed(setup.worktree, command, timeout_s=setup.test_timeout_s)
        artifact = await ctx.artifact(
            f"tests-{phase_id}-r{revision}.txt", outcome.output, media_type="text/plain"
        )
        verdict = "passed" if outcome.passed else ("timed out" if outcome.timed_out else "failed")
        ctx.emit(
            "tests.finished",
            f"{phase_id}: `{command}` {verdict} in {outcome.duration_s:.1f} s",
            phase=phase_id,
            revision=revision,
            passed=outcome.passed,
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            duration_s=outcome.duration_s,
            artifact=artifact,
        )
        return {**outcome.as_json(), "output": outcome.output[-4000:], "artifact": artifact}

    result: dict[str, Any] = await ctx.step(f"tests:{phase_id}:{revision}", run, retry=NO_RETRY)
    return result


async def _diff(
    ctx: RunContext, setup: PhaseSetup, phase_id: str, revision: int
) -> list[dict[str, Any]]:
    async def take() -> list[dict[str, Any]]:
        changes = [d.as_json() for d in await asyncio.to_thread(gitops.diff, setup.worktree)]
        artifact = await ctx.artifact(
            f"diff-{phase_id}-r{revision}.json",
            json.dumps(changes, ensure_ascii=False),
            media_type="application/json",
        )
        ctx.emit(
            "build.diff",
            f"{phase_id}: {len(changes)} file(s) changed",
            phase=phase_id,
            revision=revision,
            files=[{k: c[k] for k in ("path", "status", "added", "removed")} for c in changes],
            artifact=artifact,
        )
        return changes

    result: list[dict[str, Any]] = await ctx.step(
        f"diff:{phase_id}:{revision}", take, retry=NO_RETRY
    )
    return result


async def _commit(
    ctx: RunContext,
    setup: PhaseSetup,
    phase: dict[str, Any],
    changes: list[dict[str, Any]],
    tests: dict[str, Any] | None,
) -> dict[str, Any]:
    message = f"agentdeck build {ctx.run_id} phase {phase['id']}: {phase['title']}"

    async def commit() -> str:
        return await asyncio.to_thread(gitops.commit, setup.worktree, message)

    sha: str = await ctx.step(f"commit:{phase['id']}", commit, retry=NO_RETRY)
    ctx.emit(
        "build.committed",
        f"{phase['id']} committed as {sha[:12]}",
        phase=phase["id"],
        sha=sha,
        files=[c["path"] for c in changes],
    )
    return {
        "phase": phase["id"],
        "sha": sha,
        "files": [c["path"] for c in changes],
        "tests_passed": None if tests is None else tests["passed"],
    }


def _discard(worktree: Path) -> bool:
    gitops.git(worktree, "reset", "--hard", "--quiet", "HEAD")
    gitops.git(worktree, "clean", "-fd", "--quiet")
    return True
