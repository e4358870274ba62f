"""Run a repository's test command in a bubblewrap sandbox.

Inside: the whole filesystem read-only, a private `/tmp`, the worktree the only
writable path, no network (`--unshare-net`: a namespace with only a down loopback),
a cleared environment (so no provider key), and a timeout after which the whole
process tree is killed. Output (stdout and stderr together) is captured and clipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentdeck.domain.errors import AgentdeckError

BWRAP = "/usr/bin/bwrap"
MAX_OUTPUT = 64 * 1024


class SandboxUnavailable(AgentdeckError):
    """bubblewrap is missing: run scripts/ensure-bubblewrap.sh (or `apt-get install bubblewrap`)."""


@dataclass(frozen=True)
class TestRun:
    """The outcome of one sandboxed command."""

    __test__ = False  # not a pytest class

    command: str
    exit_code: int | None
    passed: bool
    timed_out: bool
    duration_s: float
    output: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def bwrap_path() -> str:
    found = shutil.which("bwrap") or (BWRAP if Path(BWRAP).exists() else None)
    if found is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: run scripts/ensure-bubblewrap.sh"
        )
    return found


def sandbox_argv(worktree: Path, command: str, path_env: str | None = None) -> list[str]:
    """The bwrap command line that runs `command` in `worktree`."""
    root = str(worktree.resolve())
    # the interpreter running agentdeck comes first, so `python -m pytest` finds pytest
    search_path = path_env or os.pathsep.join(
        [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    )
    return [
        bwrap_path(),
        "--unshare-all",  # net, ipc, pid, uts, user, cgroup namespaces of its own
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--bind", root, root,
        "--chdir", root,
        "--clearenv",
        "--setenv", "PATH", search_path,
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "CI", "1",
        "--",
        "sh", "-c", command,
    ]  # fmt: skip


async def run_sandboxed(
    worktree: Path, command: str, *, timeout_s: float = 300.0, path_env: str | None = None
) -> TestRun:
    """Run `command` in the sandbox; a TestRun whatever happens (timeouts included)."""
    argv = sandbox_argv(worktree, command, path_env)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    chunks: list[bytes] = []

    async def pump() -> None:
        # read as it comes, so what a command printed before its timeout is kept
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            chunks.append(chunk)

    reader = asyncio.create_task(pump())
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_group(process.pid)
        await process.wait()
    except asyncio.CancelledError:
        _kill_group(process.pid)
        reader.cancel()
        raise
    # a grandchild that kept the pipe open is not waited for: what was read is enough
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader, 5)
    output = b"".join(chunks)
    text = output.decode("utf-8", errors="replace")
    if len(text) > MAX_OUTPUT:
        text = "[... output clipped ...]\n" + text[-MAX_OUTPUT:]
    if timed_out:
        text += f"\n[agentdeck: killed after the {timeout_s:g} s timeout]"
    code = None if timed_out else process.returncode
    return TestRun(command, code, code == 0, timed_out, round(time.monotonic() - started, 3), text)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
