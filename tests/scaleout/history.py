"""The history check, over the HTTP API only: what every run left behind is whole and single."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

TOKEN_KEYS = ("input_tokens", "output_tokens", "cached_tokens")


@dataclass
class History:
    """What the check found, run by run; `problems` is empty when the history is sound."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # (run, artifact name) stored more than once
    duplicate_artifacts: list[tuple[str, str]] = field(default_factory=list)

    def rescued_from(self, worker: str) -> set[str]:
        """The runs whose lease `worker` held when it expired."""
        return {
            run_id
            for run_id, events in self.events.items()
            if any(
                e["kind"] == "run.lease_expired" and e["data"]["worker"] == worker for e in events
            )
        }

    def claims(self, run_id: str) -> list[str]:
        """The workers that claimed the run, in order."""
        return [e["data"]["worker"] for e in self.events[run_id] if e["kind"] == "run.started"]


def loop_steps(attempts: int) -> list[str]:
    """The steps a loop run that ended at attempt `attempts` journals (workflow's docstring)."""
    keys = ["llm:produce:1", "draft:1", "llm:evaluate:1", "evaluation:1"]
    for n in range(2, attempts + 1):
        keys += [f"llm:revise:{n}", f"draft:{n}", f"llm:evaluate:{n}", f"evaluation:{n}"]
    return keys


async def _events(api: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await api.get(f"/api/runs/{run_id}/events", params={"after": after})).json()
        items += page["items"]
        if not page["items"]:
            return items
        after = page["next_after"]


async def _check_run(api: httpx.AsyncClient, run_id: str, history: History) -> None:
    run = (await api.get(f"/api/runs/{run_id}")).json()
    history.runs[run_id] = run
    events = history.events[run_id] = await _events(api, run_id)
    steps = (await api.get(f"/api/runs/{run_id}/steps")).json()
    calls = (await api.get(f"/api/runs/{run_id}/calls")).json()
    artifacts = (await api.get(f"/api/runs/{run_id}/artifacts")).json()
    problems = history.problems

    if run["status"] != "succeeded":
        problems.append(f"{run_id} is {run['status']}: {run['error']}")
        return
    ids = [e["id"] for e in events]
    if any(b <= a for a, b in itertools.pairwise(ids)):
        problems.append(f"{run_id}: event ids not strictly increasing: {ids}")
    kinds = Counter(e["kind"] for e in events)
    if kinds["run.succeeded"] != 1 or kinds["run.failed"] or kinds["run.started"] < 1:
        problems.append(f"{run_id}: events say {dict(kinds)}")
    # each claim but the last ended in a rescue, and nothing was written after the end
    if kinds["run.started"] != kinds["run.lease_expired"] + 1:
        problems.append(f"{run_id}: {dict(kinds)}: claims and rescues do not match")
    if events[-1]["kind"] != "run.succeeded":
        problems.append(f"{run_id}: {events[-1]['kind']} recorded after the run succeeded")
    keys = [s["key"] for s in steps]
    if sorted(keys) != sorted(loop_steps(run["current_attempt"])):
        problems.append(f"{run_id}: steps {keys} for attempt {run['current_attempt']}")
    model_steps = [k for k in keys if k.startswith("llm:")]
    if sorted(c["step_key"] for c in calls) != sorted(model_steps):
        problems.append(f"{run_id}: calls {[c['step_key'] for c in calls]} for {model_steps}")
    for key in TOKEN_KEYS:
        if sum(c[key] for c in calls) != run[key]:
            problems.append(f"{run_id}: {key} {run[key]} != sum of calls")
    priced = sum((Decimal(c["cost_usd"]) for c in calls if c["cost_usd"]), Decimal(0))
    if priced != Decimal(run["priced_cost_usd"]):
        problems.append(f"{run_id}: cost {run['priced_cost_usd']} != sum of calls {priced}")
    names = Counter(a["name"] for a in artifacts)
    history.duplicate_artifacts += [(run_id, n) for n, c in names.items() if c > 1]


async def check_history(api: httpx.AsyncClient, run_ids: list[str]) -> History:
    """Read every run's record through the API and compare its parts."""
    history = History()
    gate = asyncio.Semaphore(8)

    async def one(run_id: str) -> None:
        async with gate:
            await _check_run(api, run_id, history)

    await asyncio.gather(*(one(r) for r in run_ids))
    return history
