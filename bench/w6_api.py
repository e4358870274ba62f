"""W6 API: `clients` concurrent clients create runs (`POST /api/runs`) and read each one back
(`GET /api/runs/{id}`) for `seconds`.

The server is `agentdeck up` (the API and a worker in one process, as a user starts it)
on a fresh database at a free loopback port, with the bench workflows loaded; every
created run is a `bench.noop` that its worker executes meanwhile. The clients run in
this process on asyncio streams (HTTP/1.1, one keep-alive connection each): a client's
request costs far less CPU than the server's answer, so they do not take the server's
cores. Every request counts, the first ones included.

Metrics: `create_p50_ms`, `create_p99_ms`, `get_p50_ms`, `get_p99_ms` (request written →
whole answer read, per request), `requests_per_s` (every answered request over the
clients' span), `errors` (answers other than 201 / 200: must be 0), `server_cpu_pct`
(the server process's CPU time over the span; 100 = one core).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.databases import fresh_database
from bench.harness import REPO, STDERR_FD, log, percentile
from bench.workflows import NOOP

NAME = "W6"
DEFAULTS: dict[str, Any] = {"clients": 50, "seconds": 20.0}
HOST = "127.0.0.1"


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; answers must carry a Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + (body or b""))
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise ConnectionError("a chunked answer: this client reads Content-Length only")
        return int(status_line.split()[1]), await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


@dataclass
class Samples:
    create_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    errors: int = 0


async def _client(port: int, deadline: float, samples: Samples) -> None:
    conn = await HttpConnection.open(port)
    payload = json.dumps({"workflow": NOOP}).encode()
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, body = await conn.request("POST", "/api/runs", payload)
            samples.create_ms.append((time.perf_counter() - t0) * 1000)
            if status != 201:
                samples.errors += 1
                continue
            run_id = json.loads(body)["id"]
            t1 = time.perf_counter()
            status, _ = await conn.request("GET", f"/api/runs/{run_id}")
            samples.get_ms.append((time.perf_counter() - t1) * 1000)
            if status != 200:
                samples.errors += 1
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process `pid` so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def _server(url: str, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """`agentdeck up` on `url` at `port`, answering /api/health; SIGTERM on the way out."""
    env = {
        **os.environ,
        "AGENTDECK_DATABASE_URL": url,
        "AGENTDECK_WORKFLOW_MODULES": "bench.workflows",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("AGENTDECK_TOKEN", None)
    agentdeck = str(Path(sys.prefix) / "bin" / "agentdeck")
    proc = await asyncio.create_subprocess_exec(
        agentdeck, "up", "--host", HOST, "--port", str(port), cwd=REPO, env=env, stdout=STDERR_FD
    )
    try:
        await _until_healthy(proc, port)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _until_healthy(proc: asyncio.subprocess.Process, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"agentdeck up exited with {proc.returncode}")
        try:
            conn = await HttpConnection.open(port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        try:
            status, _ = await conn.request("GET", "/api/health")
        finally:
            await conn.close()
        if status == 200:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("agentdeck up did not answer /api/health within 60 s")


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    seconds: float = params["seconds"]
    port = _free_port()
    samples = Samples()
    with fresh_database(db) as url:
        async with _server(url, port) as proc:
            cpu0 = _cpu_s(proc.pid)
            t0 = time.perf_counter()
            deadline = t0 + seconds
            await asyncio.gather(
                *(_client(port, deadline, samples) for _ in range(params["clients"]))
            )
            span = time.perf_counter() - t0
            cpu = _cpu_s(proc.pid) - cpu0
    if not samples.get_ms:
        raise RuntimeError(f"no run was created ({samples.errors} errors)")
    metrics = {
        "create_p50_ms": percentile(samples.create_ms, 50),
        "create_p99_ms": percentile(samples.create_ms, 99),
        "get_p50_ms": percentile(samples.get_ms, 50),
        "get_p99_ms": percentile(samples.get_ms, 99),
        "requests_per_s": (len(samples.create_ms) + len(samples.get_ms)) / span,
        "errors": float(samples.errors),
        "server_cpu_pct": cpu / span * 100,
    }
    log("  " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))
    return metrics
