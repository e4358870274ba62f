"""What a build page shows, assembled from its run, artifacts, events and usage.

Pure functions of what the run recorded: the page, its JSON twin and the CLI read the
same view.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agentdeck.domain.runs import Artifact, Event, Run, WaitKind
from agentdeck.domain.usage import UsageTotal

_PLAN = re.compile(r"^plan-(\d+)\.json$")
_PHASE_ARTIFACT = re.compile(r"^(diff|tests)-(.+)-r(\d+)\.(json|txt)$")


@dataclass
class PhaseView:
    """One phase of the plan and how far it got."""

    id: str
    title: str
    tasks: list[dict[str, Any]]
    cost_usd: str | None
    estimate_hours: float
    status: str = "pending"  # pending, executing, waiting, committed, rejected
    revision: int = 0
    diff: list[dict[str, Any]] = field(default_factory=list)
    tests: dict[str, Any] | None = None
    test_output: str | None = None
    commit: str | None = None


@dataclass
class AgentActivity:
    """What one agent did in the build: the live monitor's row."""

    agent: str
    skills: list[str] = field(default_factory=list)
    tools: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    calls: int = 0
    tokens: int = 0
    cost_usd: str = "0"


@dataclass
class BuildView:
    """A build: its run, review, plan, phases, gate, monitor and cost."""

    run: Run
    repository: dict[str, Any] | None
    review: str | None
    findings: list[str]
    plan: dict[str, Any] | None
    phases: list[PhaseView]
    gate: str | None
    monitor: list[AgentActivity]
    tests_run: int
    tests_passed: int
    alerts: list[dict[str, Any]]

    @property
    def cost_usd(self) -> Decimal:
        return self.run.cost_usd

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.run.id,
            "status": self.run.status,
            "stage": self.run.stage,
            "progress": self.run.progress,
            "priority": self.run.priority,
            "request": self.run.inputs.get("request"),
            "mode": self.run.inputs.get("mode"),
            "branch": f"agentdeck/{self.run.id}",
            "repository": self.repository,
            "error": self.run.error,
            "result": self.run.result,
            "gate": self.gate,
            "review": self.review,
            "findings": self.findings,
            "plan": self.plan,
            "phases": [p.__dict__ for p in self.phases],
            "monitor": [a.__dict__ for a in self.monitor],
            "tests_run": self.tests_run,
            "tests_passed": self.tests_passed,
            "alerts": self.alerts,
            "cost_usd": str(self.run.cost_usd),
            "input_tokens": self.run.input_tokens,
            "output_tokens": self.run.output_tokens,
            "due_at": self.run.due_at.isoformat(),
            "created_at": self.run.created_at.isoformat(),
        }


def build_view(
    run: Run,
    artifacts: list[Artifact],
    events: list[Event],
    usage: list[UsageTotal],
    repository: dict[str, Any] | None,
) -> BuildView:
    named = {a.name: a for a in artifacts}  # the newest of a name wins (ordered by id)
    plan = _latest_plan(artifacts)
    phases = [
        PhaseView(p["id"], p["title"], p["tasks"], p.get("cost_usd"), p.get("estimate_hours", 0))
        for p in (plan or {}).get("phases", [])
    ]
    by_id = {p.id: p for p in phases}
    for artifact in artifacts:
        match = _PHASE_ARTIFACT.match(artifact.name)
        if not match or match.group(2) not in by_id:
            continue
        phase, revision = by_id[match.group(2)], int(match.group(3))
        phase.revision = max(phase.revision, revision)
        phase.status = "executing" if phase.status == "pending" else phase.status
        if match.group(1) == "diff":
            phase.diff = json.loads(artifact.content)
        else:
            phase.test_output = artifact.content
    gate = run.waiting_on if run.wait_kind == WaitKind.GATE and run.status == "waiting" else None
    findings: list[str] = []
    tests_run = tests_passed = 0
    monitor: dict[str, AgentActivity] = {}
    alerts: list[dict[str, Any]] = []
    for event in events:
        data = event.data or {}
        if event.kind == "build.reviewed":
            findings = list(data.get("findings") or [])
        elif event.kind == "tests.finished":
            tests_run += 1
            tests_passed += bool(data.get("passed"))
            if data.get("phase") in by_id:
                by_id[data["phase"]].tests = data
        elif event.kind == "build.committed" and data.get("phase") in by_id:
            by_id[data["phase"]].status = "committed"
            by_id[data["phase"]].commit = data.get("sha")
        elif event.kind == "build.budget_alert":
            alerts.append(data)
        _monitor(monitor, event.kind, data)
    if gate and gate.startswith("diff ") and gate[5:] in by_id:
        by_id[gate[5:]].status = "waiting"
    if run.status == "failed":
        for phase in phases:
            if phase.status in ("executing", "waiting"):
                phase.status = "rejected" if "rejected" in (run.error or "") else "failed"
    for total in usage:
        if total.key:
            row = monitor.setdefault(total.key, AgentActivity(total.key))
            row.calls = total.calls
            row.tokens = total.input_tokens + total.output_tokens
            row.cost_usd = str(total.cost_usd)
    review = named["review.md"].content if "review.md" in named else None
    return BuildView(
        run,
        repository,
        review,
        findings,
        plan,
        phases,
        gate,
        sorted(monitor.values(), key=lambda a: a.agent),
        tests_run,
        tests_passed,
        alerts,
    )


def _latest_plan(artifacts: list[Artifact]) -> dict[str, Any] | None:
    plans = [(int(m.group(1)), a) for a in artifacts if (m := _PLAN.match(a.name))]
    if not plans:
        return None
    value: dict[str, Any] = json.loads(max(plans, key=lambda p: p[0])[1].content)
    return value


def _monitor(monitor: dict[str, AgentActivity], kind: str, data: dict[str, Any]) -> None:
    agent = data.get("agent")
    if not isinstance(agent, str):
        return
    row = monitor.setdefault(agent, AgentActivity(agent))
    if kind == "build.agent_started":
        row.skills = list(data.get("skills") or row.skills)
        if data.get("task") and data["task"] not in row.tasks:
            row.tasks.append(data["task"])
    elif kind in ("tool.called", "tool.refused"):
        tools = Counter(row.tools)
        tools[str(data.get("tool"))] += 1
        row.tools = dict(tools)
        path = data.get("path")
        written = kind == "tool.called" and data.get("tool") == "write_file"
        if written and isinstance(path, str) and path not in row.files:
            row.files.append(path)
