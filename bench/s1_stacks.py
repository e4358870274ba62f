"""S1 stacks at scale: N stacks of four role agents running at once on one worker process.

Every agent is answered by the offline simulator in `latency_s` per call, failing
`failure_rate` of calls with a transient 503 (the agent layer retries with backoff).
The stacks are created one by one (`create_p50_ms`), started with one `start_all`, run
for `seconds`, then stopped with one `stop_all`.

Metrics: `executions_per_s` (agent executions finished in the window), `scale_bound_per_s`
(min(scale, 4 * stacks) / latency: the most the scale control allows), `graph_bound_per_s`
(what the recorded graphs allow with no overhead at all: each cycle's executions over its
waves * latency, summed over stacks, with no pause between cycles), `efficiency_pct`
(executions against the graph bound), `failure_pct` (failed executions), `lag_p50_ms` /
`lag_p99_ms` (work detected → agent started), `start_all_ms`, `stop_all_ms`, `cpu_s`
(this process) and `peak_rss_mb`.
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
from agentdeck.store.schema import stack_agents, stack_cycles
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
                    select(stack_cycles.c.graph, stack_cycles.c.work, stack_cycles.c.started_at)
                ).all()
            )
        finally:
            await deck.close()
    lags, graph_time, graph_runs = [], 0.0, 0
    for graph, _, started_at in cycles:
        ran = [node for node in graph if node.get("started_at")]
        waves = {node["wave"] for node in ran}
        graph_time += len(waves) * latency
        graph_runs += len(ran)
        for node in ran:
            lag = datetime.fromisoformat(node["started_at"]) - started_at
            lags.append(lag.total_seconds() * 1000)
    executions = int(done or 0)
    rate = executions / window
    # every stack runs its cycles back to back: the graphs' own time, spread over n stacks
    graph_bound = graph_runs / (graph_time / n) if graph_time else 0.0
    result = {
        "executions_per_s": rate,
        "scale_bound_per_s": min(params["scale"], 4 * n) / latency,
        "graph_bound_per_s": graph_bound,
        "efficiency_pct": rate / graph_bound * 100 if graph_bound else 0.0,
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
    log("  " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))
    return result
