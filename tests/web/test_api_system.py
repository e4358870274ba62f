"""/api/workflows, /api/workers, /api/health, /metrics and the published OpenAPI document."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.worker import Worker
from agentdeck.web.app import create_app
from agentdeck.web.schemas import WorkerOut


async def test_workflows_are_listed_with_their_input_schema(client: httpx.AsyncClient) -> None:
    workflows = {w["name"]: w for w in (await client.get("/api/workflows")).json()}
    assert list(workflows) == ["echo", "gated", "held"]
    echo = workflows["echo"]
    assert echo["description"] == "Writes a draft and its score."
    assert echo["input_schema"]["properties"]["max_attempts"]["maximum"] == 10
    assert workflows["gated"]["input_schema"]["x-agentdeck-undeclared"] is True


async def test_workers_show_alive_then_stopped_and_a_silent_one_as_lost(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    await worker.heartbeat()  # fresh, however slow the test machine is
    [alive] = (await client.get("/api/workers")).json()
    assert (alive["id"], alive["status"], alive["runs_in_hand"]) == (worker.id, "alive", 0)
    assert alive["concurrency"] == 4
    await worker.stop()
    [stopped] = (await client.get("/api/workers")).json()
    assert stopped["status"] == "stopped"
    assert stopped["stopped_at"]

    [row] = await deck.workers()
    silent = dataclasses.replace(row, status="alive")
    later = row.heartbeat_at + timedelta(minutes=5)
    assert WorkerOut.of(silent, later, timedelta(minutes=1), 2).status == "lost"
    assert WorkerOut.of(silent, row.heartbeat_at, timedelta(minutes=1), 2).status == "alive"


async def test_health_answers_with_database_workers_and_run_counts(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    await deck.submit("echo")
    health = (await client.get("/api/health")).json()
    assert health["status"] == "ok"
    assert health["database"]["ok"] is True
    assert health["database"]["dialect"] == deck.db.dialect
    assert health["runs"] == {"queued": 1}
    assert health["workers"] == {"alive": 0, "ids": []}


async def test_metrics_count_runs_workers_and_requests_by_route_template(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    run = await deck.submit("echo")
    await deck.submit("gated")
    await worker.run_once()
    await client.get(f"/api/runs/{run.id}")
    await client.get("/api/runs/run_missing")
    await worker.heartbeat()
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'agentdeck_runs{status="succeeded"} 1.0' in text
    assert 'agentdeck_runs{status="waiting"} 1.0' in text
    assert 'agentdeck_runs{status="failed"} 0.0' in text
    assert "agentdeck_workers_alive 1.0" in text
    route = 'method="GET",route="/api/runs/{run_id}"'
    assert f'agentdeck_http_requests_total{{{route},status="200"}} 1.0' in text
    assert f'agentdeck_http_requests_total{{{route},status="404"}} 1.0' in text
    assert f"agentdeck_http_request_duration_seconds_count{{{route}}} 2.0" in text
    assert run.id not in text  # never a raw path as a label


def test_two_apps_have_their_own_metrics(deck: Deck) -> None:
    first, second = create_app(deck), create_app(deck)
    assert first.state.metrics.registry is not second.state.metrics.registry


async def test_openapi_documents_every_route_with_json_errors(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        ("get", "/api/runs"),
        ("post", "/api/runs"),
        ("get", "/api/runs/{run_id}"),
        ("post", "/api/runs/{run_id}/cancel"),
        ("post", "/api/runs/{run_id}/pause"),
        ("post", "/api/runs/{run_id}/resume"),
        ("post", "/api/runs/{run_id}/retry"),
        ("post", "/api/runs/{run_id}/gates/{gate}"),
        ("get", "/api/runs/{run_id}/events"),
        ("get", "/api/runs/{run_id}/steps"),
        ("get", "/api/runs/{run_id}/artifacts"),
        ("get", "/api/artifacts/{artifact_id}"),
        ("get", "/api/agents"),
        ("post", "/api/agents"),
        ("get", "/api/agents/{name}"),
        ("patch", "/api/agents/{name}"),
        ("delete", "/api/agents/{name}"),
        ("get", "/api/workflows"),
        ("get", "/api/workers"),
        ("get", "/api/health"),
        ("get", "/metrics"),
    }
    documented = {(m, p) for p, ops in paths.items() for m in ops}
    assert expected <= documented
    assert paths["/api/runs"]["post"]["responses"].keys() >= {"201", "401", "422"}
    assert paths["/api/runs/{run_id}/retry"]["post"]["responses"].keys() >= {"201", "409"}
    assert paths["/api/agents/{name}"]["delete"]["responses"].keys() >= {"204", "409"}
    for path, ops in paths.items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    # a health probe's 503 carries the health itself: what does not answer
                    if (method, path, status) == ("get", "/api/health", "503"):
                        assert schema == {"$ref": "#/components/schemas/HealthOut"}
                        continue
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    run_in = spec["components"]["schemas"]["RunIn"]["properties"]["workflow"]
    assert run_in["examples"] == ["echo", "gated", "held"]
    new_agent = paths["/api/agents"]["post"]["requestBody"]["content"]["application/json"]
    assert "role" in new_agent["schema"]["required"]
