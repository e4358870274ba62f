"""Re-running a finished run from a step: the steps before it come from the original's
journal (no new model calls), the rest run again; the new run is linked to the original;
from the API and from the run page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentdeck.deck import Deck
from tests.web.plan_fixtures import asgi_client, open_plan_deck


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
    async for client in asgi_client(deck):
        yield client


async def finished_loop(deck: Deck) -> str:
    run = await deck.submit("loop", {"task": {"topic": "queues"}, "pass_threshold": 0.9})
    done = await deck.wait(run.id, timeout=30)
    assert (done.status, done.attempt) == ("succeeded", 3)
    return run.id


async def test_a_rerun_copies_the_steps_before_the_chosen_one_and_runs_the_rest(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    original = await finished_loop(deck)
    answer = await http.post(f"/api/runs/{original}/rerun", json={"from_step": "llm:evaluate:2"})
    assert answer.status_code == 201, answer.text
    fork = answer.json()
    assert fork["retry_of"] == original
    done = await deck.wait(fork["id"], timeout=30)
    assert (done.status, done.attempt) == ("succeeded", 3)

    # only the chosen step and the later ones called a model again
    usage = await deck.costs.of_run(fork["id"])
    assert usage.calls == 3  # llm:evaluate:2, llm:revise:3, llm:evaluate:3
    keys = [s.key for s in await deck.steps(fork["id"])]
    assert {"llm:produce:1", "draft:1", "llm:evaluate:1", "evaluation:1"} <= set(keys)
    names = sorted(a.name for a in await deck.artifacts(fork["id"]))
    assert names.count("attempt-1.md") == 1
    assert "attempt-3.md" in names
    submitted = (await deck.events(fork["id"]))[0]
    assert f"re-run of {original} from step 'llm:evaluate:2'" in (submitted.message or "")
    said = [e for e in await deck.events(original) if e.kind == "run.rerun"]
    assert said[0].data["rerun"] == fork["id"]


async def test_a_rerun_is_refused_with_a_reason_when_it_cannot_be_made(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    original = await finished_loop(deck)
    unknown = await http.post(f"/api/runs/{original}/rerun", json={"from_step": "nope"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "from_step"
    assert "llm:produce:1" in unknown.json()["error"]["message"]

    plan = await deck.submit("plan", {"plan": [{"id": "A", "title": "Only"}]})
    await deck.wait(plan.id, timeout=30)
    refused = await http.post(f"/api/runs/{plan.id}/rerun", json={"from_step": "tasks"})
    assert refused.status_code == 409
    assert "retry it" in refused.json()["error"]["message"]
    runs = await deck.list()
    assert len(runs.items) == 2  # nothing half-written


async def test_the_run_page_re_runs_from_a_chosen_step(http: httpx.AsyncClient, deck: Deck) -> None:
    original = await finished_loop(deck)
    page = (await http.get(f"/runs/{original}")).text
    assert "Re-run from this step" in page
    assert '<option value="llm:revise:3">' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    moved = await http.post(
        f"/runs/{original}/rerun",
        data={"csrf_token": token.group(1), "from_step": "llm:revise:3"},
    )
    assert moved.status_code == 303
    fork = moved.headers["location"].rsplit("/", 1)[-1]
    assert fork != original
    assert (await deck.wait(fork, timeout=30)).status == "succeeded"
    assert (await deck.costs.of_run(fork)).calls == 2  # llm:revise:3, llm:evaluate:3
