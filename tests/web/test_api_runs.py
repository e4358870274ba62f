"""/api/runs: start, list, read and steer runs, and the errors a person can act on."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from agentdeck.deck import Deck
from agentdeck.engine.worker import Worker
from agentdeck.web.schemas import RunOut
from tests.web.workflows import Held


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of a JSON error response with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    return error


async def submit(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/runs", json={"workflow": "echo", **body})
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


async def test_post_run_creates_a_queued_run_with_the_seed_fields(
    client: httpx.AsyncClient,
) -> None:
    run = await submit(
        client, inputs={"topic": "pricing", "max_attempts": 4, "pass_threshold": 0.75}, priority=3
    )
    assert run["status"] == "queued"
    assert run["workflow"] == "echo"
    assert run["agents"] == ["writer"]
    assert run["inputs"] == {
        "topic": "pricing",
        "max_attempts": 4,
        "pass_threshold": 0.75,
        "agents": ["writer"],
    }
    assert (run["max_attempts"], run["pass_threshold"], run["priority"]) == (4, 0.75, 3)
    for name in ("current_stage", "current_attempt", "score", "verdict", "error", "claimed_by"):
        assert run[name] is None
    assert run["stalled"] is False
    assert (run["cost_usd"], run["cost_unknown"], run["input_tokens"]) == ("0", False, 0)
    fetched = await client.get(f"/api/runs/{run['id']}")
    assert fetched.json() == run


async def test_post_run_with_the_same_idempotency_key_returns_the_first_run(
    client: httpx.AsyncClient,
) -> None:
    first = await submit(client, idempotency_key="nightly-1")
    again = await submit(client, idempotency_key="nightly-1")
    assert again["id"] == first["id"]


async def test_post_run_rejects_bad_input_naming_the_field(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"workflow": "nope"}, "workflow", "unknown workflow 'nope'"),
        ({"workflow": "echo", "inputs": [1, 2]}, "inputs", "inputs"),
        ({"workflow": "echo", "inputs": "text"}, "inputs", "inputs"),
        ({"workflow": "echo", "priority": -1}, "priority", "greater than or equal to 0"),
        ({"workflow": "echo", "inputs": {"max_attempts": 0}}, "inputs.max_attempts", "greater"),
        ({"workflow": "echo", "inputs": {"colour": 1}}, "inputs.colour", "Extra inputs"),
        ({"workflow": "echo", "not_before": "2030-01-01T00:00:00"}, "not_before", "timezone"),
        ({"workflow": "echo", "inputs": {"topic": "a\u0000b"}}, "inputs.topic", "NUL"),
        ({"workflow": "echo", "input": {}}, "input", "not a known field"),
        ({}, "workflow", "is required"),
    ]
    for body, field, words in cases:
        error = error_of(await client.post("/api/runs", json=body), 422)
        assert error["field"] == field, (body, error)
        assert words in error["message"], (body, error)


async def test_post_run_takes_a_concurrency_key_and_shows_it(
    client: httpx.AsyncClient,
) -> None:
    run = await submit(client, concurrency_key="customer:7", concurrency_limit=2)
    assert (run["concurrency_key"], run["concurrency_limit"]) == ("customer:7", 2)
    assert (await client.get(f"/api/runs/{run['id']}")).json()["concurrency_key"] == "customer:7"
    plain = await submit(client)
    assert (plain["concurrency_key"], plain["concurrency_limit"]) == (None, None)
    for body, field in [
        ({"concurrency_limit": 2}, "concurrency_limit"),
        ({"concurrency_key": "k", "concurrency_limit": 0}, "concurrency_limit"),
        ({"concurrency_key": "k", "concurrency_limit": "2"}, "concurrency_limit"),
        ({"concurrency_key": ""}, "concurrency_key"),
    ]:
        error = error_of(await client.post("/api/runs", json={"workflow": "echo", **body}), 422)
        assert error["field"] == field, (body, error)


async def test_post_run_rejects_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in error_of(response, 422)["message"]


async def test_get_unknown_run_is_404_everywhere(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/runs/run_missing"),
        ("GET", "/api/runs/run_missing/events"),
        ("GET", "/api/runs/run_missing/steps"),
        ("GET", "/api/runs/run_missing/artifacts"),
        ("POST", "/api/runs/run_missing/cancel"),
        ("POST", "/api/runs/run_missing/pause"),
        ("POST", "/api/runs/run_missing/resume"),
        ("POST", "/api/runs/run_missing/retry"),
        ("GET", "/api/artifacts/art_missing"),
    ]:
        error = error_of(await client.request(method, path), 404)
        assert "missing" in error["message"]
    gate = await client.post("/api/runs/run_missing/gates/review", json={"decision": "approve"})
    assert "no run with id 'run_missing'" in error_of(gate, 404)["message"]


async def test_list_runs_filters_by_status_workflow_agent_and_text(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    alice = await submit(client, inputs={"agents": ["alice"]})
    bob = await submit(client, inputs={"agents": ["bob"]})
    gated = (await client.post("/api/runs", json={"workflow": "gated"})).json()
    await client.post(f"/api/runs/{bob['id']}/cancel")

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/api/runs", params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids() == [gated["id"], bob["id"], alice["id"]]
    assert await ids(status="cancelled") == [bob["id"]]
    assert await ids(status=["cancelled", "queued"]) == [gated["id"], bob["id"], alice["id"]]
    assert await ids(workflow="gated") == [gated["id"]]
    assert await ids(agent="alice") == [alice["id"]]
    assert await ids(text="cancel") == [bob["id"]]  # the error of a cancelled run
    error = error_of(await client.get("/api/runs", params={"status": "sleeping"}), 422)
    assert error["field"] == "status"
    assert "queued" in error["message"]


async def test_list_runs_pages_with_the_cursor(client: httpx.AsyncClient) -> None:
    created = [(await submit(client))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/runs", params=params)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created[::-1]
    for limit in (0, 501):
        error = error_of(await client.get("/api/runs", params={"limit": limit}), 422)
        assert error["field"] == "limit"


async def test_finished_run_carries_stage_score_verdict_events_steps_and_artifacts(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    run = await submit(client, inputs={"topic": "pricing"})
    assert await worker.run_once() == 1
    done = (await client.get(f"/api/runs/{run['id']}")).json()
    assert done["status"] == "succeeded"
    assert (done["current_stage"], done["current_attempt"]) == ("evaluating", 1)
    assert (done["score"], done["verdict"], done["progress"]) == (0.9, "passed", 1.0)
    assert done["result"] == {"echo": "pricing"}
    assert done["claimed_by"] == worker.id
    assert all(done[name] for name in ("started_at", "finished_at", "claimed_at"))

    events = (await client.get(f"/api/runs/{run['id']}/events")).json()
    kinds = [e["kind"] for e in events["items"]]
    assert kinds[:2] == ["run.submitted", "run.started"]
    assert "score" in kinds
    assert kinds[-1] == "run.succeeded"
    assert events["next_after"] == events["items"][-1]["id"]
    second = events["items"][1]["id"]
    rest = (await client.get(f"/api/runs/{run['id']}/events", params={"after": second})).json()
    assert [e["kind"] for e in rest["items"]] == kinds[2:]
    one = (await client.get(f"/api/runs/{run['id']}/events", params={"limit": 1})).json()
    assert [e["kind"] for e in one["items"]] == ["run.submitted"]
    empty = (await client.get(f"/api/runs/{run['id']}/events", params={"after": 10**12})).json()
    assert empty == {"items": [], "next_after": 10**12}
    negative = await client.get(f"/api/runs/{run['id']}/events", params={"after": -1})
    assert error_of(negative, 422)["field"] == "after"

    steps = (await client.get(f"/api/runs/{run['id']}/steps")).json()
    artifacts = (await client.get(f"/api/runs/{run['id']}/artifacts")).json()
    by_name = {a["name"]: a["id"] for a in artifacts}
    # an artifact stored outside a step is a step of its own, its result the artifact's id
    assert sorted((s["key"], s["status"], s["result"]) for s in steps) == [
        ("artifact:attempt-1.eval.json", "succeeded", by_name["attempt-1.eval.json"]),
        ("artifact:attempt-1.md", "succeeded", by_name["attempt-1.md"]),
        ("draft", "succeeded", "# pricing\n"),
    ]
    assert [(a["name"], a["media_type"], a["attempt"]) for a in artifacts] == [
        ("attempt-1.md", "text/markdown", 1),
        ("attempt-1.eval.json", "application/json", None),
    ]
    assert "content" not in artifacts[0]
    draft = await client.get(artifacts[0]["url"])
    assert draft.status_code == 200
    assert draft.text == "# pricing\n"
    assert draft.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "sandbox" in draft.headers["content-security-policy"]
    assert draft.headers["x-content-type-options"] == "nosniff"
    evaluation = await client.get(artifacts[1]["url"])
    assert evaluation.headers["content-type"] == "application/json"
    assert evaluation.json() == {"score": 0.9, "feedback": "fine"}
    assert artifacts[0]["size"] == len(draft.content)


async def test_cancel_pause_resume_and_retry_follow_the_state_machine(
    client: httpx.AsyncClient,
) -> None:
    run = await submit(client)
    paused = await client.post(f"/api/runs/{run['id']}/pause")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert paused.json()["pause_requested_at"]
    again = error_of(await client.post(f"/api/runs/{run['id']}/pause"), 409)
    assert again["message"] == "run is paused; it cannot become paused"
    resumed = await client.post(f"/api/runs/{run['id']}/resume")
    assert resumed.json()["status"] == "queued"
    not_paused = error_of(await client.post(f"/api/runs/{run['id']}/resume"), 409)
    assert "only a paused run resumes" in not_paused["message"]
    early = error_of(await client.post(f"/api/runs/{run['id']}/retry"), 409)
    assert "only a finished run can be retried" in early["message"]

    cancelled = await client.post(f"/api/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert (body["status"], body["error"]) == ("cancelled", "cancelled")
    assert all(body[name] for name in ("cancel_requested_at", "finished_at"))
    twice = error_of(await client.post(f"/api/runs/{run['id']}/cancel"), 409)
    assert twice["message"] == "run is cancelled; it cannot become cancelled"

    retried = await client.post(f"/api/runs/{run['id']}/retry")
    assert retried.status_code == 201
    new = retried.json()
    assert new["id"] != run["id"]
    assert (new["status"], new["retry_of"], new["inputs"]) == ("queued", run["id"], run["inputs"])


async def test_cancel_and_pause_of_an_executing_run_are_requests(
    client: httpx.AsyncClient, deck: Deck, held: Held
) -> None:
    worker = deck.worker(concurrency=2)
    await worker.start()
    run = (await client.post("/api/runs", json={"workflow": "held"})).json()
    await asyncio.wait_for(held.entered.wait(), 10)
    running = (await client.get(f"/api/runs/{run['id']}")).json()
    assert running["status"] == "running"
    assert running["claimed_by"] == worker.id
    assert running["heartbeat_at"]
    assert running["stalled"] is False
    workers = (await client.get("/api/workers")).json()
    assert [(w["id"], w["status"], w["runs_in_hand"]) for w in workers] == [(worker.id, "alive", 1)]

    paused = (await client.post(f"/api/runs/{run['id']}/pause")).json()
    assert (paused["status"], bool(paused["pause_requested_at"])) == ("running", True)
    cancelled = (await client.post(f"/api/runs/{run['id']}/cancel")).json()
    assert (cancelled["status"], bool(cancelled["cancel_requested_at"])) == ("running", True)
    finished = await deck.wait(run["id"], timeout=10)
    assert finished.status == "cancelled"


async def test_gate_decisions_need_the_right_gate_a_known_decision_and_a_comment(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    run = (await client.post("/api/runs", json={"workflow": "gated"})).json()
    url = f"/api/runs/{run['id']}/gates"
    too_early = error_of(await client.post(f"{url}/review", json={"decision": "approve"}), 409)
    assert "is not waiting at gate 'review' (it is queued)" in too_early["message"]
    await worker.run_once()
    waiting = (await client.get(f"/api/runs/{run['id']}")).json()
    assert (waiting["status"], waiting["wait_kind"], waiting["waiting_on"]) == (
        "waiting",
        "gate",
        "review",
    )

    wrong = error_of(await client.post(f"{url}/deploy", json={"decision": "approve"}), 409)
    assert "not waiting at gate 'deploy' (it is at gate 'review')" in wrong["message"]
    bare = error_of(await client.post(f"{url}/review", json={"decision": "changes"}), 422)
    assert (bare["field"], bare["message"]) == (
        "comment",
        "say which changes: a comment is required",
    )
    unknown = error_of(await client.post(f"{url}/review", json={"decision": "maybe"}), 422)
    assert unknown["field"] == "decision"
    assert "approve" in unknown["message"]

    decided = await client.post(
        f"{url}/review", json={"decision": "changes", "comment": "shorter, please"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "queued"
    await worker.run_once()
    done = (await client.get(f"/api/runs/{run['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["result"] == {"decision": "changes", "comment": "shorter, please"}


async def test_run_json_marks_a_stale_heartbeat_as_stalled_and_unknown_cost_as_null(
    deck: Deck,
) -> None:
    run = await deck.submit("echo")
    now = deck.clock.now()
    running = dataclasses.replace(run, status="running", heartbeat_at=now - timedelta(minutes=3))
    assert RunOut.of(running, now, timedelta(minutes=2)).stalled is True
    assert RunOut.of(running, now, timedelta(minutes=5)).stalled is False
    waiting = dataclasses.replace(running, status="waiting")
    assert RunOut.of(waiting, now, timedelta(minutes=2)).stalled is False

    priced = dataclasses.replace(run, cost_usd=Decimal("0.012300"))
    out = RunOut.of(priced, now, timedelta(minutes=2))
    assert (out.cost_usd, out.priced_cost_usd, out.cost_unknown) == ("0.0123", "0.0123", False)
    unknown = RunOut.of(dataclasses.replace(priced, cost_unknown=True), now, timedelta(minutes=2))
    assert (unknown.cost_usd, unknown.priced_cost_usd, unknown.cost_unknown) == (
        None,
        "0.0123",
        True,
    )
