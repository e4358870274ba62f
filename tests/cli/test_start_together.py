"""Six `agentdeck worker` and two `agentdeck serve` started at once on an empty database
all come up: one of them migrates, the others wait for it (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_available, _pg_url
from tests.llm.decks import PROVIDER_VARS

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 6
SERVERS = 2

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: no template, no migration."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentdeck.db'}"
        return
    if not _pg_available():
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    name = f"agentdeck_empty_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(args: list[str], url: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update(
        {
            "AGENTDECK_DATABASE_URL": url,
            "AGENTDECK_SIMULATOR": "always",
            "AGENTDECK_TOKEN": "",
            "PYTHONPATH": str(ROOT),
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.cli.started_together",
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _loaded(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    line = (await proc.stdout.readline()).decode()
    assert line.strip() == "loaded", line


async def _ready(proc: asyncio.subprocess.Process, marker: str) -> str:
    """Read the process's output until it says it is up; everything it said if it died."""
    assert proc.stdout is not None
    said = []
    while line := (await proc.stdout.readline()).decode():
        said.append(line)
        if marker in line:
            return "up"
    await proc.wait()
    return "".join(said)[-3000:]


async def test_workers_and_servers_started_together_on_an_empty_database_all_come_up(
    empty_database: str,
) -> None:
    commands = [(["worker", "--concurrency", "2"], "started (concurrency") for _ in range(WORKERS)]
    commands += [(["serve", "--port", str(_free_port())], "agentdeck ") for _ in range(SERVERS)]
    procs = await asyncio.gather(*(_start(a, empty_database) for a, _ in commands))
    try:
        async with asyncio.timeout(150):
            await asyncio.gather(*(_loaded(p) for p in procs))
            for proc in procs:  # go: every one of them at once
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
            await asyncio.gather(*(p.stdin.drain() for p in procs if p.stdin is not None))
            outcomes = await asyncio.gather(
                *(_ready(p, marker) for p, (_, marker) in zip(procs, commands, strict=True))
            )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await proc.wait()
    failed = [o for o in outcomes if o != "up"]
    assert failed == [], failed[0]
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        workers = conn.exec_driver_sql("SELECT count(*) FROM workers").scalar()
    engine.dispose()
    assert len(version) == 1
    assert workers == WORKERS
