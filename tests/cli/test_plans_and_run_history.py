"""`agentdeck runs pause|resume|events|artifacts`, `plans` and `tasks`: against the database
and against a running server, with whole ids and `--json` on every list."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agentdeck import workflows
from agentdeck.cli.main import app
from agentdeck.deck import Deck, Registry
from agentdeck.domain.runs import Run
from tests.cli.test_run_follow import cli_env, server  # noqa: F401  (fixtures)
from tests.conftest import fast_settings

PLAN = {
    "title": "Launch page",
    "tasks": [
        {"id": "T1", "title": "Research competitors", "role": "executor"},
        {"id": "T2", "title": "Write the page", "role": "executor", "prerequisites": ["T1"]},
    ],
}
NARROW = {"COLUMNS": "60"}  # a narrow terminal: ids must still come out whole


def agentdeck(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def deck_on(database_url: str) -> Deck:
    registry = Registry()
    workflows.register(registry)
    return Deck(fast_settings(database_url, simulator="always"), registry=registry, migrate=False)


def finished_plan_and_queued_loop(database_url: str) -> tuple[Run, Run]:
    async def main() -> tuple[Run, Run]:
        async with deck_on(database_url) as deck:
            plan = await deck.submit("plan", {"plan": PLAN, "dispatch": "internal"})
            worker = deck.worker(concurrency=4)
            await worker.start()
            done = await deck.wait(plan.id, 60)
            await worker.stop()
            loop = await deck.submit("loop", {"task": {"topic": "x"}})
            return done, loop

    return asyncio.run(main())


def ids_in(text: str) -> set[str]:
    return set(re.findall(r"\brun_[0-9a-z]{26}\b", text))


@pytest.mark.timeout(120)
def test_runs_plans_and_tasks_commands_on_the_database(
    cli_env: dict[str, str],  # noqa: F811
    database_url: str,
) -> None:
    plan, loop = finished_plan_and_queued_loop(database_url)
    assert plan.status == "succeeded", plan.error

    listed = agentdeck("runs", "list", env=NARROW)
    assert listed.exit_code == 0, listed.output
    assert ids_in(listed.output) == {plan.id, loop.id}  # whole, not cut with an ellipsis

    paused = agentdeck("runs", "pause", loop.id)
    assert paused.exit_code == 0, paused.output
    assert f"{loop.id} paused" in paused.output
    again = agentdeck("runs", "pause", loop.id)
    assert again.exit_code == 2
    assert "paused" in again.output
    resumed = agentdeck("runs", "resume", loop.id)
    assert f"{loop.id} queued" in resumed.output

    events = json.loads(agentdeck("runs", "events", loop.id, "--json").stdout)
    assert [e["kind"] for e in events][:1] == ["run.submitted"]
    assert {"run.paused", "run.resumed"} <= {e["kind"] for e in events}
    table = agentdeck("runs", "events", loop.id).output
    assert "run.resumed" in table

    artifacts = json.loads(agentdeck("runs", "artifacts", plan.id, "--json").stdout)
    assert artifacts, "a finished plan run stores its results"
    first = artifacts[-1]
    content = agentdeck("runs", "artifacts", plan.id, "--name", first["name"])
    assert content.exit_code == 0, content.output
    assert content.stdout.strip()
    missing = agentdeck("runs", "artifacts", plan.id, "--name", "nope.md")
    assert missing.exit_code == 2
    assert "no artifact named 'nope.md'" in missing.output

    _check_plans_and_tasks(plan)


def _check_plans_and_tasks(plan: Run, *extra: str) -> None:
    listed = json.loads(agentdeck("plans", "list", "--json", *extra).stdout)
    [item] = listed  # the loop run is not a plan execution
    assert item["run"]["id"] == plan.id
    assert item["tasks"]["total"] == 2
    assert item["tasks"]["finished"] == 2
    assert plan.id in agentdeck("plans", "list", *extra, env=NARROW).output
    table = agentdeck("plans", "list", *extra, env={"COLUMNS": "200"}).output
    assert "2/2" in table
    assert "Launch page" in table

    shown = agentdeck("plans", "show", plan.id, *extra, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for text in ("T1", "T2", "Research competitors", "completed", "executor", "2/2 tasks"):
        assert text in shown.output, f"{text!r} not in\n{shown.output}"

    tasks: list[dict[str, Any]] = json.loads(
        agentdeck("tasks", "list", plan.id, "--json", *extra).stdout
    )
    assert [t["key"] for t in tasks] == ["T1", "T2"]
    assert all(t["status"] == "completed" and t["agent"] for t in tasks)
    assert all(t["started_at"] and t["finished_at"] for t in tasks)
    only = json.loads(
        agentdeck("tasks", "list", plan.id, "--status", "blocked", "--json", *extra).stdout
    )
    assert only == []

    one = json.loads(agentdeck("tasks", "show", f"{plan.id}:T2", *extra).stdout)
    assert one["prerequisites"] == ["T1"]
    assert one["output"] is not None
    unknown = agentdeck("tasks", "show", f"{plan.id}:T9", *extra)
    assert unknown.exit_code == 2
    assert "no task with id" in unknown.output


def test_plans_show_refuses_a_run_that_is_not_a_plan(
    cli_env: dict[str, str],  # noqa: F811
    database_url: str,
) -> None:
    async def submit() -> Run:
        async with deck_on(database_url) as deck:
            return await deck.submit("loop", {"task": {"topic": "x"}})

    run = asyncio.run(submit())
    refused = agentdeck("plans", "show", run.id)
    assert refused.exit_code == 2
    assert "only plan runs have tasks" in refused.output


@pytest.fixture
def plan_on_server(
    server: str,  # noqa: F811
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, Run]:
    monkeypatch.setenv("AGENTDECK_TOKEN", "t0ken-for-tests-0123456789abcdefghij")
    submitted = agentdeck(
        "run", "plan", "--server", server, "--input", f"plan:={json.dumps(PLAN)}",
        "--input", "dispatch=internal", "--follow",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output

    async def find() -> Run:
        async with deck_on(database_url) as deck:
            [run] = (await deck.list()).items
            return run

    return server, asyncio.run(find())


@pytest.mark.timeout(180)
def test_the_same_commands_through_a_server(plan_on_server: tuple[str, Run]) -> None:
    url, plan = plan_on_server
    assert plan.status == "succeeded"
    remote = ("--server", url)

    listed = agentdeck("runs", "list", *remote, env=NARROW)
    assert ids_in(listed.output) == {plan.id}

    events = json.loads(agentdeck("runs", "events", plan.id, "--json", *remote).stdout)
    assert events[0]["kind"] == "run.submitted"
    assert events[-1]["kind"] == "run.succeeded"
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})

    artifacts = json.loads(agentdeck("runs", "artifacts", plan.id, "--json", *remote).stdout)
    content = agentdeck("runs", "artifacts", plan.id, "--name", artifacts[-1]["name"], *remote)
    assert content.exit_code == 0, content.output
    assert content.stdout.strip()

    refused = agentdeck("runs", "pause", plan.id, *remote)
    assert refused.exit_code == 2  # a finished run cannot be paused: the API's own message
    assert "succeeded" in refused.output

    _check_plans_and_tasks(plan, *remote)
