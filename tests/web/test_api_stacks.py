"""/api/stacks and /api/broadcasts: create, read, steer, scale, bulk moves, and the errors a
person can act on; a stack run by a real worker shows its cycles' decisions and reasons."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from agentdeck import workflows as built_in
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.web.test_api_runs import error_of

ROLES = ("planner", "builder", "communicator", "reviewer")
T = TypeVar("T")


@pytest.fixture
def registry() -> Registry:
    """The built-in workflows, the stack's among them."""
    registry = Registry()
    built_in.register(registry)
    return registry


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/stacks", json={"name": "maps", **body})
    assert response.status_code == 201, response.text
    stack: dict[str, Any] = response.json()
    return stack


async def test_create_answers_a_validated_idle_stack_within_half_a_second(
    client: httpx.AsyncClient,
) -> None:
    await create(client, name="warm-up")  # the first request pays for imports and caches
    began = time.perf_counter()
    response = await client.post(
        "/api/stacks",
        json={
            "name": "maps",
            "idea": "  a shop for old maps  ",
            "agents": {"builder": "builder"},
            "budget_usd": "2.5",
            "max_concurrent": 3,
        },
    )
    elapsed = time.perf_counter() - began
    assert response.status_code == 201, response.text
    assert elapsed < 0.5, f"create took {elapsed:.3f} s"
    stack = response.json()
    assert stack["state"] == "idle"
    assert stack["idea"] == "a shop for old maps"
    agents = (await client.get(f"/api/stacks/{stack['id']}/agents")).json()
    assert {a["role"]: a["agent"] for a in agents}["builder"] == "builder"
    assert {a["role"] for a in agents} == set(ROLES)
    assert (stack["budget_usd"], stack["max_concurrent"], stack["cycles"]) == ("2.5", 3, 0)
    assert "start" in stack["actions"]
    assert "resume" not in stack["actions"]
    fetched = await client.get(f"/api/stacks/{stack['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "maps"
    listed = (await client.get("/api/stacks")).json()
    assert [s["name"] for s in listed["items"]] == ["warm-up", "maps"]  # in creation order
    assert listed["counts"]["idle"] == 2
    assert set(listed["counts"]) >= {"idle", "running", "paused", "stopped"}


async def test_create_without_an_idea_leaves_it_to_the_planner(client: httpx.AsyncClient) -> None:
    stack = await create(client, idea="   ")
    assert stack["idea"] is None


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({}, 422, "name", "required"),
        ({"name": "a/b"}, 422, "name", "letters"),
        ({"name": "x" * 101}, 422, "name", "100"),
        ({"name": "ok", "budget_usd": "-1"}, 422, "budget_usd", "0"),
        ({"name": "ok", "budget_usd": "lots"}, 422, "budget_usd", "decimal"),
        ({"name": "ok", "max_concurrent": 0}, 422, "max_concurrent", "1"),
        ({"name": "ok", "max_concurrent": 65}, 422, "max_concurrent", "64"),
        ({"name": "ok", "agents": {"planner": "nobody-here"}}, 422, "agents.planner", "nobody"),
        ({"name": "ok", "agents": {"chef": "builder"}}, 422, "agents.chef", "known"),
        ({"name": "ok", "colour": "red"}, 422, "colour", "known"),
        ({"name": "ok", "idea": "a\u0000b"}, 422, "idea", "NUL"),
    ],
)
async def test_create_refuses_bad_input_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, field: str, words: str
) -> None:
    error = error_of(await client.post("/api/stacks", json=body), status)
    assert error["field"] == field
    assert words.lower() in error["message"].lower()
    assert (await client.get("/api/stacks")).json()["items"] == []  # nothing half-written


async def test_create_refuses_a_taken_name_with_409(client: httpx.AsyncClient) -> None:
    await create(client)
    error = error_of(await client.post("/api/stacks", json={"name": "maps"}), 409)
    assert "maps" in error["message"]


async def test_moves_follow_the_state_machine_and_refusals_are_409(
    client: httpx.AsyncClient,
) -> None:
    stack = await create(client)
    path = f"/api/stacks/{stack['id']}"
    error = error_of(await client.post(f"{path}/resume"), 409)
    assert "idle" in error["message"]
    assert (await client.post(f"{path}/start")).json()["state"] == "running"
    assert (await client.post(f"{path}/pause")).json()["state"] == "paused"
    resumed = (await client.post(f"{path}/resume")).json()
    assert resumed["state"] == "running"
    assert "pause" in resumed["actions"]
    assert "start" not in resumed["actions"]
    stopped = (await client.post(f"{path}/stop")).json()
    assert (stopped["state"], stopped["actions"]) == ("stopped", ["start"])
    error = error_of(await client.post(f"{path}/pause"), 409)
    assert "stopped" in error["message"]
    assert (await client.post(f"{path}/start")).json()["state"] == "running"  # goes on
    error_of(await client.post(f"{path}/jump"), 422)
    error_of(await client.post("/api/stacks/stk_missing/start"), 404)
    error_of(await client.get("/api/stacks/stk_missing"), 404)


async def test_auto_start_creates_a_running_stack(client: httpx.AsyncClient) -> None:
    assert (await create(client, auto_start=True))["state"] == "running"


async def test_bulk_moves_change_fifty_stacks_at_once(client: httpx.AsyncClient) -> None:
    ids = [(await create(client, name=f"s{n:02d}"))["id"] for n in range(50)]
    await client.post(f"/api/stacks/{ids[0]}/start")
    started = (await client.post("/api/stacks/start-all")).json()
    assert (started["action"], started["changed"]) == ("start-all", 49)
    assert ids[0] not in started["ids"]
    assert (await client.get("/api/stacks")).json()["counts"]["running"] == 50
    assert (await client.post("/api/stacks/pause-all")).json()["changed"] == 50
    paused = (await client.get("/api/stacks?state=paused")).json()
    assert (len(paused["items"]), paused["counts"]["paused"]) == (50, 50)
    assert (await client.post("/api/stacks/start-all")).json()["changed"] == 50  # resumed
    assert (await client.post("/api/stacks/stop-all")).json()["changed"] == 50
    listed = (await client.get("/api/stacks")).json()
    assert {s["state"] for s in listed["items"]} == {"stopped"}
    assert (await client.post("/api/stacks/stop-all")).json()["changed"] == 0
    error_of(await client.post("/api/stacks/dance-all"), 422)
    error = error_of(await client.get("/api/stacks?state=dancing"), 422)
    assert error["field"] == "state"


async def test_scale_is_read_and_changed_globally_and_per_stack(
    client: httpx.AsyncClient,
) -> None:
    scale = (await client.get("/api/stacks/scale")).json()
    assert scale["max"] >= scale["limit"] >= 1
    assert (await client.put("/api/stacks/scale", json={"limit": 0})).json()["limit"] == 0
    assert (await client.get("/api/stacks")).json()["scale"]["limit"] == 0
    error = error_of(await client.put("/api/stacks/scale", json={"limit": -1}), 422)
    assert error["field"] == "limit"
    error_of(await client.put("/api/stacks/scale", json={"limit": "lots"}), 422)
    stack = await create(client)
    scaled = await client.put(f"/api/stacks/{stack['id']}/scale", json={"limit": 2})
    assert scaled.json()["scale"] == 2
    unset = await client.put(f"/api/stacks/{stack['id']}/scale", json={"limit": None})
    assert unset.json()["scale"] is None
    back = (await client.put("/api/stacks/scale", json={"limit": None})).json()
    assert (back["limit"], back["custom"]) == (back["default"], False)
    error_of(await client.put("/api/stacks/stk_missing/scale", json={"limit": 2}), 404)


async def test_broadcasts_are_posted_and_listed_newest_first(client: httpx.AsyncClient) -> None:
    for body in ("first", "second"):
        response = await client.post("/api/broadcasts", json={"body": body})
        assert response.status_code == 201, response.text
    listed = (await client.get("/api/broadcasts")).json()
    assert [m["body"] for m in listed][:2] == ["second", "first"]
    assert (listed[0]["recipient"], listed[0]["sender"], listed[0]["kind"]) == (
        None,
        "person",
        "broadcast",
    )
    error = error_of(await client.post("/api/broadcasts", json={"body": "   "}), 422)
    assert error["field"] == "body"


async def until(deck: Deck, check: Callable[[], Awaitable[T | None]], within: float = 30) -> T:
    """`check()` again after each wake-up of the deck until it answers something."""
    woken = asyncio.Event()
    unsubscribe = deck.notifier.subscribe(lambda _topic, _run: woken.set())
    try:
        async with asyncio.timeout(within):
            while (found := await check()) is None:
                await woken.wait()
                woken.clear()
        return found
    finally:
        unsubscribe()


async def test_a_running_stack_shows_cycles_with_decisions_and_reasons(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    stack = await create(client, idea="a shop for old maps", auto_start=True)
    path = f"/api/stacks/{stack['id']}"

    async def first_cycle() -> dict[str, Any] | None:
        cycles = (await client.get(f"{path}/cycles")).json()
        return cycles[-1] if cycles else None

    async def an_artifact() -> dict[str, Any] | None:
        found = (await client.get(f"{path}/artifacts")).json()
        return found[0] if found else None

    worker = deck.worker(concurrency=8)
    await worker.start()
    try:
        first = await until(deck, first_cycle)
        artifact = await until(deck, an_artifact)  # the builder's, in a later cycle
    finally:
        await worker.stop()
    assert first["number"] == 1
    work = {w["role"]: w for w in first["work"]}
    assert set(work) == set(ROLES)
    assert (work["planner"]["has_work"], work["planner"]["priority"]) == (True, 9)
    assert work["planner"]["reason"] == "planner: no open todos → 9"
    assert first["nodes"][0]["role"] == "planner"
    assert first["nodes"][0]["state"] in ("succeeded", "failed")
    assert first["nodes"][0]["started_at"]
    assert first["nodes"][0]["duration_ms"] is not None
    assert first["decision"]["action"] in ("continue", "pause", "park", "stop")
    assert first["decision"]["reason"]
    todos = (await client.get(f"{path}/todos")).json()
    assert todos, "the planner's first cycle writes todos"
    done = (await client.get(f"{path}/todos", params={"status": "done"})).json()
    assert {t["status"] for t in done} <= {"done"}
    error_of(await client.get(f"{path}/todos", params={"status": "dreaming"}), 422)
    older = (await client.get(f"{path}/cycles", params={"before": 2})).json()
    assert [c["number"] for c in older] == [1]
    unread = (await client.get(f"{path}/messages", params={"unread": True})).json()
    assert all(m["read_at"] is None for m in unread)
    for part in ("messages", "artifacts", "memory", "agents"):
        assert (await client.get(f"{path}/{part}")).status_code == 200
    shown = (await client.get(path)).json()
    assert shown["cycles"] >= 1
    assert shown["reason"]
    raw = await client.get(f"{path}/artifacts/{artifact['id']}")
    assert raw.status_code == 200
    assert "sandbox" in raw.headers["content-security-policy"]
    assert len(raw.content) == artifact["size"]
    assert artifact["role"] == "builder"
    page = await client.get(f"/stacks/{stack['id']}/artifacts/{artifact['id']}")
    assert page.status_code == 200
    assert artifact["name"] in page.text
    error_of(await client.get(f"{path}/artifacts/art_missing"), 404)


async def test_a_reached_budget_pauses_the_stack_until_a_person_raises_it(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    stack = await create(client, idea="maps", budget_usd="0", auto_start=True)
    path = f"/api/stacks/{stack['id']}"

    async def parked() -> dict[str, Any] | None:
        found: dict[str, Any] = (await client.get(path)).json()
        return found if found["state"] == "paused" else None

    worker = deck.worker(concurrency=8)
    await worker.start()
    try:
        paused = await until(deck, parked)
    finally:
        await worker.stop()
    assert paused["reason"].startswith("budget reached")
    page = await client.get(f"/stacks/{stack['id']}")
    assert 'id="budget-alert"' in page.text
    error = error_of(await client.put(f"{path}/budget", json={"budget_usd": "-1"}), 422)
    assert error["field"] == "budget_usd"
    raised = (await client.put(f"{path}/budget", json={"budget_usd": "5"})).json()
    assert (raised["budget_usd"], raised["state"]) == ("5", "paused")
    assert (await client.post(f"{path}/resume")).json()["state"] == "running"
    assert 'id="budget-alert"' not in (await client.get(f"/stacks/{stack['id']}")).text
