"""External agents' failures, blocks, silence and the execution's controls, through the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.domain.runs import Run
from agentdeck.domain.topics import Topic
from tests.web.plan_fixtures import asgi_client, open_plan_deck, register

GATE = "human review"


@pytest.fixture
def settings() -> dict[str, Any]:
    """Leases long enough that a loaded machine does not let them expire mid-test."""
    return {"task_lease_interval": timedelta(seconds=10)}


@pytest.fixture
async def deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: dict[str, Any]
) -> AsyncIterator[Deck]:
    deck = await open_plan_deck(database_url, monkeypatch, tmp_path, **settings)
    await deck.worker(4).start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
async def http(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    async for client in asgi_client(deck):
        yield client


async def start(http: httpx.AsyncClient, plan: Any, **inputs: Any) -> str:
    body = {"workflow": "plan", "inputs": {"plan": plan, "dispatch": "external", **inputs}}
    response = await http.post("/api/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def settled(deck: Deck, run_id: str) -> Run:
    """The run once it is parked or over (waiting for the agents counts as parked)."""
    return await deck.wait(run_id, 20)


async def tasks_of(http: httpx.AsyncClient, run_id: str) -> dict[str, dict[str, Any]]:
    body = (await http.get(f"/api/runs/{run_id}/tasks")).json()
    return {t["key"]: t for t in body["items"]}


async def until_status(
    deck: Deck, http: httpx.AsyncClient, run_id: str, key: str, status: str
) -> None:
    """Until the task has `status`: read it again on each event this process records (the
    sweeper, acting on its own clock, records one with every change it makes)."""
    changed = asyncio.Event()

    def on_notice(topic: Topic, _run_id: str | None) -> None:
        if topic == Topic.EVENT:
            changed.set()

    unsubscribe = deck.notifier.subscribe(on_notice)
    try:
        async with asyncio.timeout(30):
            while (await tasks_of(http, run_id)).get(key, {}).get("status") != status:
                await changed.wait()
                changed.clear()
    except TimeoutError:
        raise AssertionError(f"task {key} never became {status}") from None
    finally:
        unsubscribe()


async def test_a_retryable_failure_is_offered_again_and_a_final_one_skips_dependents(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agent = await register(http, "worker", ["email"])
    plan = [
        {"id": "A", "title": "Flaky", "role": "email"},
        {"id": "B", "title": "Doomed", "role": "email"},
        {"id": "C", "title": "After B", "role": "email", "prerequisites": ["B"]},
    ]
    run_id = await start(http, plan, retry_interval_s=0.01)
    seen: dict[str, int] = {}
    while (await deck.get(run_id)).status not in ("failed", "succeeded"):
        work = await agent.claim(wait=1)
        if work is None:
            continue
        key = work["task"]["key"]
        seen[key] = seen.get(key, 0) + 1
        if key == "A" and work["task"]["attempt"] == 1:
            failed = await agent.report(work, "failed", error="smtp timeout")
            assert failed.json()["status"] == "failed"
        elif key == "B":
            await agent.report(work, "failed", error="no such mailbox", retryable=False)
        else:
            await agent.report(work, "completed", output={"sent": 1})
    run = await settled(deck, run_id)
    assert run.status == "failed"
    assert "B (no such mailbox)" in (run.error or "")
    assert seen == {"A": 2, "B": 1}
    tasks = await tasks_of(http, run_id)
    assert (tasks["A"]["status"], tasks["A"]["attempt"]) == ("completed", 2)
    assert tasks["A"]["output"] == {"data": {"sent": 1}, "agent": "worker"}
    assert tasks["B"]["status"] == "failed"
    assert tasks["C"]["status"] == "skipped"


async def test_a_blocked_task_raises_the_gate_and_a_person_reassigns_it(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agent = await register(http, "worker", ["email"])
    plan = [
        {"id": "A", "title": "Needs a login", "role": "email"},
        {"id": "B", "title": "After A", "role": "email", "prerequisites": ["A"]},
    ]
    run_id = await start(http, plan)
    work = await agent.claim()
    assert work is not None
    blocked = await agent.report(work, "blocked", reason="the mailbox needs a password")
    assert blocked.json()["status"] == "blocked"
    run = await settled(deck, run_id)
    assert (run.status, run.waiting_on) == ("waiting", GATE)
    listing = (await http.get(f"/api/runs/{run_id}/tasks")).json()
    assert [t["key"] for t in listing["blocked"]] == ["A"]
    assert listing["blocked"][0]["reason"] == "worker: the mailbox needs a password"
    not_blocked = await http.post(f"/api/tasks/{run_id}:B/resolve", json={"action": "skip"})
    assert not_blocked.status_code == 409
    bad = await http.post(f"/api/tasks/{run_id}:A/resolve", json={"action": "reassign"})
    assert bad.status_code == 422
    moved = await http.post(
        f"/api/tasks/{run_id}:A/resolve",
        json={"action": "reassign", "agent": "executor", "note": "use the shared inbox"},
    )
    assert moved.status_code == 200, moved.text
    # A now runs inside the deck; B is offered to external agents again
    work = await agent.claim(wait=10)
    assert work is not None
    assert work["task"]["key"] == "B"
    done_by_executor = work["inputs"]["prerequisites"][0]["output"]
    assert done_by_executor.startswith("# Needs a login")  # the simulator names its task
    assert "use the shared inbox" in done_by_executor  # and the person's note
    await agent.report(work, "completed", output="sent")
    run = await settled(deck, run_id)
    assert run.status == "succeeded", run.error
    tasks = await tasks_of(http, run_id)
    assert (tasks["A"]["executor"], tasks["A"]["agent"]) == ("internal", "executor")
    assert tasks["A"]["attempt"] == 2


async def test_an_offer_nobody_takes_is_blocked_and_can_be_skipped(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    plan = [
        {"id": "A", "title": "Nobody can", "role": "fax"},
        {"id": "B", "title": "After A", "role": "fax", "prerequisites": ["A"]},
    ]
    run_id = await start(http, plan, pickup_timeout_s=0.3)
    await until_status(deck, http, run_id, "A", "blocked")
    tasks = await tasks_of(http, run_id)
    assert "no external agent with the capability 'fax'" in tasks["A"]["reason"]
    run = await settled(deck, run_id)
    assert run.waiting_on == GATE
    await http.post(f"/api/tasks/{run_id}:A/resolve", json={"action": "skip"})
    # B is offered in turn; nobody takes it either: mark it done by hand
    await until_status(deck, http, run_id, "B", "blocked")
    run = await settled(deck, run_id)
    done = await http.post(
        f"/api/tasks/{run_id}:B/resolve", json={"action": "done", "note": "faxed it"}
    )
    assert done.status_code == 200
    run = await settled(deck, run_id)
    assert run.status == "succeeded", run.error
    tasks = await tasks_of(http, run_id)
    assert tasks["A"]["status"] == "skipped"
    assert tasks["B"]["output"]["text"] == "faxed it"


async def test_a_paused_execution_hands_out_nothing_and_a_cancelled_one_refuses_reports(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agent = await register(http, "worker", ["email"])
    plan = [
        {"id": "A", "title": "One", "role": "email"},
        {"id": "B", "title": "Two", "role": "email"},
    ]
    run_id = await start(http, plan)
    work = await agent.claim()
    assert work is not None
    await settled(deck, run_id)
    assert (await http.post(f"/api/runs/{run_id}/pause")).json()["status"] == "paused"
    assert await agent.claim(wait=0.3) is None  # the other task is not handed out
    # the agent that holds a task may still report on it while the execution is paused
    assert (await agent.report(work, "progress", progress=0.2)).status_code == 200
    await http.post(f"/api/runs/{run_id}/resume")
    second = await agent.claim()
    assert second is not None
    await settled(deck, run_id)
    await http.post(f"/api/runs/{run_id}/cancel")
    refused = await agent.report(second, "completed", output="late")
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["error"]["message"]
    assert (await settled(deck, run_id)).status == "cancelled"
    tasks = await tasks_of(http, run_id)
    assert {t["status"] for t in tasks.values()} == {"cancelled"}


@pytest.mark.parametrize(
    "settings",
    [
        {
            "task_lease_interval": timedelta(seconds=30),
            "external_agent_unreachable_after": timedelta(milliseconds=500),
        }
    ],
)
async def test_an_agent_that_stops_polling_is_unreachable_and_its_tasks_return(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    quiet = await register(http, "quiet", ["email"])
    other = await register(http, "other", ["email"])
    run_id = await start(http, [{"id": "A", "title": "One", "role": "email"}])
    work = await quiet.claim()
    assert work is not None
    second = await other.claim(wait=10)  # quiet says nothing: after 0.5 s the task returns
    assert second is not None
    assert second["task"]["key"] == "A"
    agents = {a["name"]: a for a in (await http.get("/api/external-agents")).json()}
    assert agents["quiet"]["status"] == "unreachable"
    assert agents["other"]["tasks_in_hand"] == 1
    await other.report(second, "completed", output="done")
    run = await settled(deck, run_id)
    assert run.status == "succeeded"
    # polling again makes it reachable
    assert await quiet.claim(wait=0) is None
    agents = {a["name"]: a for a in (await http.get("/api/external-agents")).json()}
    assert agents["quiet"]["status"] == "active"


async def test_revoking_an_agent_returns_its_tasks_to_the_pool(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    holder = await register(http, "holder", ["email"])
    other = await register(http, "other", ["email"])
    await start(http, [{"id": "A", "title": "One", "role": "email"}])
    work = await holder.claim()
    assert work is not None
    await http.post(f"/api/external-agents/{holder.id}/revoke")
    second = await other.claim(wait=10)
    assert second is not None
    assert second["task"]["key"] == "A"
    refused = await holder.report(work, "completed", output="x")
    assert refused.status_code == 401


async def test_dispatch_auto_offers_tasks_to_registered_capabilities_only(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agent = await register(http, "mailer", ["email"])
    plan = [
        {"id": "A", "title": "Mail it", "role": "email"},
        {"id": "B", "title": "Write it", "role": "executor"},
    ]
    run_id = await start(http, plan, dispatch="auto")
    work = await agent.claim()
    assert work is not None
    assert work["task"]["key"] == "A"
    await agent.report(work, "completed", output="mailed")
    run = await settled(deck, run_id)
    assert run.status == "succeeded", run.error
    tasks = await tasks_of(http, run_id)
    assert tasks["A"]["executor"] == "external"
    assert tasks["B"]["executor"] == "internal"


async def test_reports_are_checked(deck: Deck, http: httpx.AsyncClient) -> None:
    agent = await register(http, "worker", ["email"])
    await start(http, [{"id": "A", "title": "One", "role": "email"}])
    work = await agent.claim()
    assert work is not None
    url = f"/api/tasks/{work['task']['id']}/events"
    for body in (
        {"type": "dance", "lease_id": "x"},
        {"type": "progress", "lease_id": work["lease"]["id"], "progress": 2},
        {"type": "failed", "lease_id": work["lease"]["id"]},
        {"type": "heartbeat"},
    ):
        response = await http.post(url, json=body, headers=agent.headers)
        assert response.status_code == 422, body
    unknown = await http.post(
        "/api/tasks/run_x:T9/events",
        json={"type": "heartbeat", "lease_id": "x"},
        headers=agent.headers,
    )
    assert unknown.status_code == 404
    artifact = await agent.report(work, "artifact", name="draft.md", content="# Draft")
    assert artifact.status_code == 200
    assert artifact.json()["status"] == "running"
    artifacts = (await http.get(f"/api/runs/{work['task']['run_id']}/artifacts")).json()
    assert [a["name"] for a in artifacts] == ["plan.json", "draft.md"]
