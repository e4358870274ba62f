"""P1 plan execution: one plan of 1,000 tasks in 10 layers, then 100 executions at once.

Every task is one call of an internal agent answered by the offline simulator after
`task_s` seconds (the simulator's latency), through the whole path: agent runner,
journaled step, task board. Phase 1 runs one plan of `tasks` tasks in `layers` layers
(each task needs `fan_in` tasks of the layer before) with `slots` tasks at once; its
ideal makespan is max(critical path, slot bound) = max(layers x task_s,
tasks x task_s / slots). Phase 2 submits `runs` plans of `run_tasks` tasks in
`run_layers` layers at once (seed 003's load test), `run_slots` tasks at once each.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from agentdeck import workflows
from agentdeck.deck import Deck, Submission
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from agentdeck.store.schema import runs
from bench.databases import fresh_database
from bench.harness import FinishWatch, check_all_succeeded, log, percentile, start_deck

NAME = "P1"
DEFAULTS: dict[str, Any] = {
    "tasks": 1000,
    "layers": 10,
    "fan_in": 3,
    "task_s": 0.2,
    "slots": 50,
    "runs": 100,
    "run_tasks": 20,
    "run_layers": 4,
    "run_slots": 5,
    "concurrency": 100,
}
# one executor without the shipped agent's per-worker limit of 20 calls at once; the plan
# workflow's planner input must name an agent that exists, though a JSON plan never calls it
AGENTS = """\
agents:
  - name: executor
    role: executor
    models: [simulator]
  - name: planner
    role: planner
    models: [simulator]
"""


def layered_plan(tasks: int, layers: int, fan_in: int) -> list[dict[str, Any]]:
    width = tasks // layers
    return [
        {
            "id": f"L{layer}-{i}",
            "title": f"Task {layer}-{i}",
            "prerequisites": (
                [f"L{layer - 1}-{(i * 7 + k * 13) % width}" for k in range(fan_in)] if layer else []
            ),
        }
        for layer in range(layers)
        for i in range(width)
    ]


def _deck(url: str, folder: Path, params: dict[str, Any]) -> Deck:
    agents = folder / "agents.yaml"
    agents.write_text(AGENTS)
    registry = Registry()
    workflows.register(registry)
    settings = Settings(
        database_url=url,
        agents_file=agents,
        simulator="always",
        simulator_latency=params["task_s"],
        concurrency=params["concurrency"],
    )
    return Deck(settings, registry=registry)


async def _durations(deck: Deck) -> list[float]:
    query = runs.select().with_only_columns(runs.c.started_at, runs.c.finished_at)
    rows = await deck.db.read(lambda conn: conn.execute(query).all())
    return [(f - s).total_seconds() for s, f in rows]


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    task_s = params["task_s"]
    one = layered_plan(params["tasks"], params["layers"], params["fan_in"])
    ideal = max(params["layers"] * task_s, params["tasks"] * task_s / params["slots"])
    many = layered_plan(params["run_tasks"], params["run_layers"], min(2, params["fan_in"]))
    width = params["run_tasks"] // params["run_layers"]
    ideal_many = params["run_layers"] * task_s * max(1, -(-width // params["run_slots"]))
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="agentdeck-p1-") as folder:
        with fresh_database(db) as url:
            deck = _deck(url, Path(folder), params)
            try:
                deck.llm.warm()
                await start_deck(deck)
                await deck.worker().start()
                inputs = {"plan": one, "dispatch": "internal", "max_parallel": params["slots"]}
                watch = FinishWatch(deck, 1)
                t0 = time.perf_counter()
                run = await deck.submit("plan", inputs)
                makespan = await watch.wait(timeout=600) - t0
                await check_all_succeeded(deck, 1)
                executed = (await _durations(deck))[0]
                done = await deck.get(run.id)
                if done.result is None or done.result["counts"] != {"completed": len(one)}:
                    raise RuntimeError(f"the plan did not complete: {done.result}")
            finally:
                await deck.close()
        log(f"  one plan: makespan {makespan:.3f}s (ideal {ideal:.2f}s)")
        out.update(
            makespan_s=makespan,
            ideal_s=ideal,
            overhead_s=makespan - ideal,
            efficiency=ideal / makespan,
            execution_s=executed,
            tasks_per_s=len(one) / makespan,
        )
        with fresh_database(db) as url:
            deck = _deck(url, Path(folder), params)
            try:
                deck.llm.warm()
                await start_deck(deck)
                await deck.worker().start()
                inputs = {"plan": many, "dispatch": "internal", "max_parallel": params["run_slots"]}
                n = params["runs"]
                watch = FinishWatch(deck, n)
                t0 = time.perf_counter()
                await deck.submit_many([Submission("plan", inputs) for _ in range(n)])
                makespan_many = await watch.wait(timeout=600) - t0
                await check_all_succeeded(deck, n)
                durations = await _durations(deck)
            finally:
                await deck.close()
    log(
        f"  {params['runs']} plans at once: makespan {makespan_many:.3f}s "
        f"(ideal {ideal_many:.2f}s), execution p50 {percentile(durations, 50):.3f}s"
    )
    out.update(
        many_makespan_s=makespan_many,
        many_ideal_s=ideal_many,
        many_execution_p50_s=percentile(durations, 50),
        many_execution_p99_s=percentile(durations, 99),
        many_tasks_per_s=params["runs"] * len(many) / makespan_many,
    )
    return out
