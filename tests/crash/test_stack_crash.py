"""Worker processes SIGKILLed in the middle of stacks' cycles lose no todo and pay no
model call twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.store.schema import usage
from tests.conftest import fast_settings

ROOT = Path(__file__).resolve().parents[2]
STACKS = 12
KILLS = 4
ROUNDS_OF_TODOS = 9  # the simulator's planner writes three rounds of three

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _start_worker(database_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTDECK_DATABASE_URL": database_url,
        "AGENTDECK_SIMULATOR": "always",
        "AGENTDECK_SIMULATOR_LATENCY": "0.2",
        "AGENTDECK_STACK_STALL_LIMIT": "2",
        "AGENTDECK_LEASE_INTERVAL": "1.5",
        "AGENTDECK_HEARTBEAT_INTERVAL": "0.3",
        "AGENTDECK_RESCUE_INTERVAL": "0.3",
        "AGENTDECK_POLL_INTERVAL": "0.5",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GROQ_API_KEY"):
        env.pop(name, None)
    command = [sys.executable, "-m", "agentdeck.cli", "worker", "--concurrency", "20"]
    stderr = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)


async def test_sigkilled_workers_mid_cycle_lose_no_todo_and_repeat_no_paid_call(
    database_url: str, tmp_path: Path
) -> None:
    registry = Registry()
    workflows.register(registry)
    deck = Deck(fast_settings(database_url, stack_stall_limit=2), registry=registry, migrate=False)
    log_path = tmp_path / "workers.stderr"
    stacks = [
        await deck.stacks.create(f"s{i}", idea=f"Project {i}", auto_start=True)
        for i in range(STACKS)
    ]
    procs = [_start_worker(database_url, log_path) for _ in range(2)]
    kills = 0
    try:
        while kills < KILLS:
            await asyncio.sleep(1.5)
            for proc in procs:
                if proc.poll() is not None:
                    pytest.fail(f"a worker exited by itself:\n{log_path.read_text()[-3000:]}")
            busy = sum((await deck.stacks.busy([s.id for s in stacks])).values())
            alive = {w.pid for w in await deck.workers() if w.status == "alive"}
            working = [i for i, p in enumerate(procs) if p.pid in alive]
            if not working or not busy:
                continue
            victim = random.choice(working)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            kills += 1
            procs[victim] = _start_worker(database_url, log_path)
        async with asyncio.timeout(180):
            # other processes change the stacks: poll, there is no event here to wait on
            while (await deck.stacks.counts())["stopped"] < STACKS:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    try:
        for stack in stacks:
            todos = await deck.stacks.todos(stack.id)
            why = (await deck.stacks.get(stack.id)).reason
            assert len(todos) == ROUNDS_OF_TODOS, (why, [(t.title, t.status) for t in todos])
            assert {t.status for t in todos} == {"done"}
            artifacts = await deck.stacks.artifacts(stack.id)
            assert sorted(a.todo_id or "" for a in artifacts) == sorted(t.id for t in todos)
            numbers = [c.number for c in await deck.stacks.cycles(stack.id, limit=500)]
            assert sorted(numbers) == list(range(1, len(numbers) + 1))  # none lost or doubled
        paid_twice = await deck.db.read(
            lambda conn: conn.execute(
                select(usage.c.run_id, usage.c.step_key, func.count())
                .group_by(usage.c.run_id, usage.c.step_key)
                .having(func.count() > 1)
            ).all()
        )
        assert paid_twice == []
        calls = await deck.db.read(
            lambda conn: conn.execute(select(func.count()).select_from(usage)).scalar_one()
        )
        assert calls > STACKS * ROUNDS_OF_TODOS
        assert kills == KILLS
        logged = await deck.events(limit=100_000)
        taken_over = [e for e in logged if e.kind == "run.lease_expired"]
        assert taken_over, "no run was ever taken over: the kills hit nothing"
    finally:
        await deck.close()
