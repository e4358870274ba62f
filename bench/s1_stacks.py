"""S1 stacks at scale: N stacks of four role agents running at once on one worker process.

Every agent is answered by the offline simulator in `latency_s` per call, failing
`failure_rate` of calls with a transient 503 (the agent layer retries with backoff).
The stacks are created one by one (`create_p50_ms`), started with one `start_all`, run
for `seconds`, then stopped with one `stop_all`.

Metrics: `executions_per_s` (agent executions finished in the window), `scale_bound_per_s`
(min(scale, 4 * stacks) / latency: the most the scale control allows), `graph_bound_per_s`
(what the recorded cycles allow with no overhead at all: their executions over their
waves * latency plus the pauses the decisions chose, spread over the stacks),
`efficiency_pct` (that ideal time of the recorded cycles against the time they took,
from each stack's first cycle's start to its last one's end), `failure_pct` (failed
executions), `lag_p50_ms` / `lag_p99_ms` (work detected → first-wave agent started),
`start_all_ms`, `stop_all_ms`, `cpu_s` (this process) and `peak_rss_mb`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from agentdeck.store.stack_tables import stack_agents, stack_cycles
from bench.databases import fresh_database
from bench.harness import log, percentile, start_deck
from bench.w4_agents_at_scale import peak_rss_mb, reset_peak_rss

NAME = "S1"
DEFAULTS: dict[str, Any] = {
    "stacks": 200,
    "seconds": 30.0,
    "latency_s": 1.0,
    "failure_rate": 0.05,
    "scale": 800,
}


def open_deck(url: str, params: dict[str, Any]) -> Deck:
    registry = Registry()
    workflows.register(registry)
    settings = Settings(
        database_url=url,
        simulator="always",
        simulator_latency=timedelta(seconds=params["latency_s"]),
        simulator_failure_rate=params["failure_rate"],
        stack_scale=params["scale"],
        concurrency=params["stacks"] + 10,
    )
    return Deck(settings, registry=registry)


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n: int = params["stacks"]
    latency: float = params["latency_s"]
    with fresh_database(db) as url:
        deck = open_deck(url, params)
        try:
            await start_deck(deck)
            deck.llm.warm()
            creates = []
            for i in range(n):
                t = time.perf_counter()
                await deck.stacks.create(f"stack-{i:04d}", idea=f"Project number {i}")
                creates.append((time.perf_counter() - t) * 1000)
            await deck.worker(n + 10).start()
            await asyncio.sleep(0.2)
            reset_peak_rss()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            await deck.stacks.start_all()
            start_all_ms = (time.perf_counter() - t0) * 1000
            await asyncio.sleep(params["seconds"])
            window = time.perf_counter() - t0
            done, failed = await deck.db.read(
                lambda conn: conn.execute(
                    select(func.sum(stack_agents.c.executions), func.sum(stack_agents.c.failures))
                ).one()
            )
            t1 = time.perf_counter()
            await deck.stacks.stop_all()
            stop_all_ms = (time.perf_counter() - t1) * 1000
            cpu = time.process_time() - cpu0
            peak = peak_rss_mb()
            cycles = await deck.db.read(
                lambda conn: conn.execute(
                    select(
                        stack_cycles.c.stack_id,
                        stack_cycles.c.number,
                        stack_cycles.c.graph,
                        stack_cycles.c.delay_s,
                        stack_cycles.c.started_at,
                        stack_cycles.c.finished_at,
                    )
                ).all()
            )
        finally:
            await deck.close()
    lags: list[float] = []
    graph_time, graph_runs, span = 0.0, 0, 0.0
    by_stack: dict[str, list[Any]] = {}
    for row in cycles:
        by_stack.setdefault(row.stack_id, []).append(row)
    for rows in by_stack.values():
        rows.sort(key=lambda r: r.number)
        # from the first cycle's start to the last one's end: the time the stack took
        span += (rows[-1].finished_at - rows[0].started_at).total_seconds()
        for index, row in enumerate(rows):
            ran = [node for node in row.graph if node.get("started_at")]
            graph_time += len({node["wave"] for node in ran}) * latency
            if index < len(rows) - 1:
                graph_time += row.delay_s
            graph_runs += len(ran)
            for node in ran:
                if node["wave"] == 0:  # later waves wait for their dependencies by design
                    lag = datetime.fromisoformat(node["started_at"]) - row.started_at
                    lags.append(lag.total_seconds() * 1000)
    executions = int(done or 0)
    rate = executions / window
    # every stack runs its cycles back to back: the graphs' own time, spread over n stacks
    graph_bound = graph_runs / (graph_time / n) if graph_time else 0.0
    result = {
        "executions_per_s": rate,
        "scale_bound_per_s": min(params["scale"], 4 * n) / latency,
        "graph_bound_per_s": graph_bound,
        "efficiency_pct": graph_time / span * 100 if span else 0.0,
        "failure_pct": (int(failed or 0) / executions * 100) if executions else 0.0,
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "create_p50_ms": percentile(creates, 50),
        "start_all_ms": start_all_ms,
        "stop_all_ms": stop_all_ms,
        "cycles": float(len(cycles)),
        "cpu_s": cpu,
        "peak_rss_mb": peak,
    }
    log(f"  {graph_runs} executions in {graph_time:.1f} s of waves and pauses, took {span:.1f} s")
    log("  " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))
    return result
