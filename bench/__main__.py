"""`python -m bench [--workload W1] [--db sqlite] [--reps 3] [--runs N]`: see BENCH.md.

SQLite is measured twice, at the product's default `synchronous` and at FULL (the
peers' durability), unless `--sqlite-synchronous` picks one. W5 takes `--clients`,
`--rate`, `--seconds` (phase 1) and `--client-impl`; W6 `--clients` and `--seconds`;
L1 `--calls` and `--lanes`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from types import ModuleType
from typing import Any

from bench import (
    b1_builds,
    l1_llm_overhead,
    p1_plan,
    s1_stacks,
    w1_throughput,
    w2_agent_loop,
    w3_latency,
    w4_agents_at_scale,
    w5_browser,
    w5_live_stream,
    w6_api,
)
from bench.databases import KINDS, SQLITE_SYNCHRONOUS, describe, durability, sqlite_synchronous
from bench.harness import log
from bench.report import emit, load_average, summarise

WORKLOADS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        w1_throughput,
        w2_agent_loop,
        w3_latency,
        w4_agents_at_scale,
        w5_live_stream,
        w5_browser,
        w6_api,
        l1_llm_overhead,
        p1_plan,
        s1_stacks,
        b1_builds,
    )
}
# flags that override the param of the same name, in the workloads that have it
OVERRIDES = (
    "runs",
    "concurrency",
    "clients",
    "rate",
    "seconds",
    "client_impl",
    "events",
    "stacks",
    "calls",
    "lanes",
)


def run_workload(module: ModuleType, db: str, reps: int, params: dict[str, Any]) -> None:
    """`reps` repetitions of one workload on one database; one JSON line on stdout."""
    load_before = load_average()
    results: list[dict[str, float]] = []
    for rep in range(1, reps + 1):
        log(f"{module.NAME} {db} ({durability(db)}) rep {rep}/{reps}")
        results.append(asyncio.run(module.measure(db, params)))
    record = summarise(
        module.NAME,
        db,
        results,
        {**params, **describe(db)},
        durability=durability(db),
        load_before=load_before,
    )
    emit(record)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    parser.add_argument("--db", choices=[*KINDS, "all"], default="all")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=[*SQLITE_SYNCHRONOUS, "both"],
        default="both",
        help="SQLite durability: the product's default, FULL, or both side by side (default)",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--runs", type=int, help="runs per rep (default: W1 2000, W2 200, W3 100, W4 2000)"
    )
    parser.add_argument("--concurrency", type=int, help="worker concurrency (W2, W3, W4)")
    parser.add_argument("--clients", type=int, help="W5: SSE clients (100); W6: API clients (50)")
    parser.add_argument("--rate", type=float, help="W5: events per second (default 50)")
    parser.add_argument("--seconds", type=float, help="W5: seconds before the reconnect; W6 (20)")
    parser.add_argument("--client-impl", choices=("raw", "httpx"), help="W5: the clients' HTTP")
    parser.add_argument("--events", type=int, help="W5-browser: live events (default 500)")
    parser.add_argument("--stacks", type=int, help="S1: stacks running at once (default 200)")
    parser.add_argument("--calls", type=int, help="L1: model calls per side (default 2000)")
    parser.add_argument("--lanes", type=int, help="L1: concurrent lanes (default 50)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]
    dbs = list(KINDS) if args.db == "all" else [args.db]
    syncs = SQLITE_SYNCHRONOUS if args.sqlite_synchronous == "both" else [args.sqlite_synchronous]
    failed: list[str] = []
    for name in workloads:
        module = WORKLOADS[name]
        params: dict[str, Any] = dict(module.DEFAULTS)
        for key in OVERRIDES:
            value = getattr(args, key)
            if value is not None and key in params:
                params[key] = value
        for db in dbs:
            for sync in syncs if db == "sqlite" else ["default"]:
                try:
                    with sqlite_synchronous(sync):
                        run_workload(module, db, args.reps, params)
                except Exception:  # one broken (workload, db) must not hide the others
                    log(f"{name} {db} FAILED:\n{traceback.format_exc()}")
                    failed.append(f"{name}/{db}" + (f"/{sync}" if db == "sqlite" else ""))
    if failed:
        log(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
