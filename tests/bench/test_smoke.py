"""Every bench workload at a tiny size, so the bench code cannot rot between measurements.

Each runs as `python -m bench` runs it (one rep, one JSON line) and the line is checked
for the metrics BENCH.md names, the durability, the load average and the revision. The
figures themselves are not judged: a benchmark is not a test.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench.databases import sqlite_synchronous
from tests.conftest import PG_ADMIN_URL, _pg_available

# (workload, params over its defaults, metrics the line must carry)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("W1", {"runs": 20}, ("submit_per_s", "submit_per_s_bulk", "process_per_s")),
    ("W2", {"runs": 5, "step_sleep_s": 0.01}, ("makespan_s", "bulk_makespan_s")),
    ("W3", {"runs": 5}, ("start_p50_ms", "start_p99_ms", "result_p50_ms")),
    ("W4", {"runs": 3, "concurrency": 3, "latency_s": 0.01}, ("makespan_s", "peak_rss_mb")),
    ("W5", {"clients": 2, "rate": 50, "seconds": 0.3, "resume_seconds": 0.2}, ("lag_p50_ms",)),
    ("W5-browser", {"events": 5, "page_events": 20, "loads": 1}, ("visible_p50_ms",)),
    ("W6", {"clients": 2, "seconds": 0.3}, ("create_p99_ms", "get_p99_ms", "requests_per_s")),
    ("L1", {"calls": 10, "lanes": 2, "sequential_calls": 5}, ("sequential_overhead_per_call_us",)),
    ("P1", {"tasks": 6, "layers": 2, "task_s": 0.01, "runs": 2, "run_tasks": 4}, ("makespan_s",)),
]
# These start agentdeck processes of their own, whose start-up is most of their time: they
# run side by side. W1 on PostgreSQL sees the worker's runs finish by NOTIFY, on SQLite by
# counting; W3 starts its PostgreSQL worker the way W1 does.
OWN_PROCESS = {("W1", "sqlite"), ("W1", "postgres"), ("W6", "sqlite")}


def _run(workload: str, db: str) -> None:
    case = next(c for c in CASES if c[0] == workload)
    module = bench_main.WORKLOADS[workload]
    bench_main.run_workload(module, db, 1, {**module.DEFAULTS, **case[1]})


def _check(line: str, workload: str, db: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(line)
    assert record["workload"] == workload
    assert record["db"] == db
    metrics = next(c[2] for c in CASES if c[0] == workload)
    assert set(metrics) <= set(record["median"]), record["median"]
    assert len(record["loadavg"]["before"]) == 3
    assert len(record["loadavg"]["after"]) == 3
    assert record["revision"]
    assert record["revision"] == record["params"]["revision"]
    return record


@pytest.mark.parametrize("workload", [c[0] for c in CASES if (c[0], "sqlite") not in OWN_PROCESS])
def test_workload_runs_at_a_tiny_size_on_sqlite(
    workload: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(workload, "sqlite")
    (line,) = capsys.readouterr().out.splitlines()
    record = _check(line, workload, "sqlite")
    assert record["durability"] == "synchronous=NORMAL (default)"


def test_workloads_with_processes_of_their_own_run_at_a_tiny_size(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and does not answer at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    monkeypatch.setenv("AGENTDECK_BENCH_POSTGRES_URL", PG_ADMIN_URL)
    with ThreadPoolExecutor(len(OWN_PROCESS)) as pool:
        for done in [pool.submit(_run, workload, db) for workload, db in OWN_PROCESS]:
            done.result()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(OWN_PROCESS), lines
    for line in lines:
        record = json.loads(line)
        _check(line, record["workload"], record["db"])
    assert {(json.loads(x)["workload"], json.loads(x)["db"]) for x in lines} == OWN_PROCESS


def test_sqlite_full_durability_is_stated_in_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite_synchronous("FULL"):
        _run("W2", "sqlite")
    (line,) = capsys.readouterr().out.splitlines()
    record = _check(line, "W2", "sqlite")
    assert record["durability"] == "synchronous=FULL"
    assert record["params"]["sqlite_synchronous"] == "FULL"
