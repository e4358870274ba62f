"""The external-agent protocol end to end over real HTTP: several agents, leases, stale reports."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.store.schema import external_agents
from agentdeck.web.app import create_app
from tests.web.live_server import serving
from tests.web.plan_fixtures import ExternalAgent, layered_tasks, open_plan_deck, register


@pytest.fixture
async def deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Deck]:
    deck = await open_plan_deck(database_url, monkeypatch, tmp_path)
    await deck.worker(4).start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
async def http(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(create_app(deck)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def work_until_done(
    agent: ExternalAgent, deck: Deck, run_id: str, accepted: list[tuple[str, str]]
) -> None:
    """Claim and complete tasks until the run is over."""
    while True:
        work = await agent.claim(wait=0.5)
        if work is None:
            if (await deck.get(run_id)).status in ("succeeded", "failed", "cancelled"):
                return
            continue
        # a slow machine may let a 1 s lease expire: then every report is refused (409), the
        # task goes to another agent, and this one drops it, as the protocol says
        statuses = [
            (await agent.report(work, "progress", progress=0.5, message="half")).status_code,
            (await agent.report(work, "heartbeat")).status_code,
        ]
        prerequisites = [p["id"] for p in work["inputs"]["prerequisites"]]
        output = f"{work['task']['key']} by {agent.name} after {','.join(prerequisites)}"
        done = await agent.report(work, "completed", output=output)
        statuses.append(done.status_code)
        assert set(statuses) <= {200, 409}, done.text
        if done.status_code == 200:
            assert done.json()["status"] == "completed"
            accepted.append((work["task"]["key"], agent.name))


async def test_several_agents_share_the_tasks_and_none_is_done_twice(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agents = [await register(http, f"mailer-{i}", ["email"]) for i in range(4)]
    plan = layered_tasks(layers=3, width=5, role="email")
    response = await http.post(
        "/api/runs", json={"workflow": "plan", "inputs": {"plan": plan, "dispatch": "external"}}
    )
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    accepted: list[tuple[str, str]] = []
    async with asyncio.timeout(60):
        await asyncio.gather(*(work_until_done(a, deck, run_id, accepted) for a in agents))
    run = await deck.wait(run_id, 10)
    assert run.status == "succeeded", run.error
    done = Counter(key for key, _ in accepted)
    assert set(done) == {t["id"] for t in plan}
    assert max(done.values()) == 1  # no task done twice
    assert len({name for _, name in accepted}) > 1  # the work was shared
    listing = (await http.get(f"/api/runs/{run_id}/tasks")).json()
    assert listing["counts"] == {"completed": 15}
    assert listing["progress"] == 1.0
    third = next(t for t in listing["items"] if t["key"] == "L2-0")
    assert third["executor"] == "external"
    assert third["output"]["text"].endswith("after L1-0,L1-1,L1-2,L1-3,L1-4")
    assert third["layer"] == 2
    kinds = Counter(e.kind for e in await deck.events(run_id))
    assert kinds["task.completed"] == 15
    assert kinds["task.claimed"] == 15 + kinds["task.returned"]


async def test_an_expired_lease_returns_the_task_and_the_old_holder_is_refused(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    slow = await register(http, "slow", ["email"])
    fast = await register(http, "fast", ["email"])
    run = await deck.submit(
        "plan", {"plan": [{"id": "T1", "title": "Write", "role": "email"}], "dispatch": "external"}
    )
    first = await slow.claim()
    assert first is not None
    assert first["task"]["id"] == f"{run.id}:T1"
    assert first["lease"]["interval_s"] == 1.0
    assert await fast.claim(wait=0.2) is None  # taken: nothing for the other agent
    # slow goes silent: after the lease (1 s) the sweeper gives the task to fast
    second = await fast.claim(wait=10)
    assert second is not None
    assert second["task"]["id"] == first["task"]["id"]
    assert second["lease"]["id"] != first["lease"]["id"]
    stale = await slow.report(first, "completed", output="too late")
    assert stale.status_code == 409
    assert "you do not hold the current lease" in stale.json()["error"]["message"]
    heartbeat = await slow.report(first, "heartbeat")
    assert heartbeat.status_code == 409
    done = await fast.report(second, "completed", output="on time")
    assert done.status_code == 200
    again = await fast.report(second, "completed", output="twice")
    assert again.status_code == 409
    assert "is completed" in again.json()["error"]["message"]
    run = await deck.wait(run.id, 10)
    assert run.status == "succeeded", run.error
    task = (await deck.tasks.tasks(run.id))[0]
    assert task.output == {"text": "on time", "agent": "fast"}
    assert task.lease_expirations == 1
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("task.returned") == 1


async def test_tokens_are_the_agents_own_and_stored_hashed(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    agent = await register(http, "larry", ["email"])
    other = await register(http, "moe", ["email"])
    assert agent.token.startswith("adx_")
    stored = await deck.db.read(
        lambda conn: conn.execute(external_agents.select()).mappings().all()
    )
    hashes = {row["name"]: row["token_hash"] for row in stored}
    assert hashes["larry"] == hashlib.sha256(agent.token.encode()).hexdigest()
    assert all(agent.token not in str(dict(row)) for row in stored)
    url = f"/api/agents/{agent.id}/work"
    assert (await http.get(url)).status_code == 401
    wrong = await http.get(url, headers={"Authorization": "Bearer adx_nope"})
    assert wrong.status_code == 401
    theirs = await http.get(url, params={"wait": 0}, headers=other.headers)
    assert theirs.status_code == 403
    assert (await http.get(url, params={"wait": 0}, headers=agent.headers)).status_code == 204
    listed = {a["name"]: a for a in (await http.get("/api/external-agents")).json()}
    assert listed["larry"]["last_seen_at"] is not None
    assert "token" not in listed["larry"]
    revoked = await http.post(f"/api/external-agents/{agent.id}/revoke")
    assert revoked.json()["status"] == "revoked"
    refused = await http.get(url, params={"wait": 0}, headers=agent.headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]
    assert (await http.delete(f"/api/external-agents/{other.id}")).status_code == 409
    assert (await http.delete(f"/api/external-agents/{agent.id}")).status_code == 204


async def test_a_long_poll_wakes_as_soon_as_a_task_is_offered(
    deck: Deck, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deck.tasks.dispatcher, "_poll", 30.0)  # no safety-net poll in time
    agent = await register(http, "waiter", ["email"])
    polling = asyncio.create_task(agent.claim(wait=40))
    # no event says "a poll found nothing and waits": watch the count, with a deadline
    async with asyncio.timeout(30):
        while deck.tasks.polls_waiting == 0:
            assert not polling.done(), polling.result()
            await asyncio.sleep(0.01)
    assert not polling.done()
    run = await deck.submit(
        "plan", {"plan": [{"id": "T1", "title": "Go", "role": "email"}], "dispatch": "external"}
    )
    work: dict[str, Any] | None = await polling
    assert work is not None
    events = {e.kind: e.created_at for e in await deck.events(run.id)}
    waited = events["task.claimed"] - events["task.offered"]
    assert waited.total_seconds() < 2  # woken by the offer, not by a poll 30 s later
