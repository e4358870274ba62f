"""agentdeck on three machines: a PostgreSQL cluster on the bridge, `serve` and `worker` processes.

Every process is a real `agentdeck` command started inside its machine's namespace, so
everything it says to the database crosses that machine's link.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from tests.scaleout.cluster import Cluster, server_binaries
from tests.scaleout.network import Machine, Network, has_netem, why_not_supported

TOKEN = "scale-out-test-token-" + "0123456789abcdef" * 2  # longer than 32 characters
PORT = 8000

# Leases short enough for a partition to be rescued within seconds, long enough that a
# heartbeat over a link with 500 ms of delay still renews them in time: it may wait for
# the row locks of its own worker's batch, whose transaction then takes ~10 round trips.
TIMING = {
    "AGENTDECK_LEASE_INTERVAL": "10",
    "AGENTDECK_HEARTBEAT_INTERVAL": "0.5",
    "AGENTDECK_RESCUE_INTERVAL": "0.5",
    "AGENTDECK_POLL_INTERVAL": "1",
    "AGENTDECK_WORKER_LOST_AFTER": "20",
    "AGENTDECK_SHUTDOWN_GRACE": "10",
}
# As docs/deploy.md advises: a connection attempt during a partition gives up after 2 s and
# is retried; a connection whose server end vanished while the link was down (the server
# timed the session out; its goodbye was lost) is found dead by keepalives 20 to 26 s after
# it went quiet, not after the kernel's default of two hours. 20 s: longer than the
# partition, so what the cut-off worker sent is still delivered when the link heals.
CLIENT_PARAMETERS = "?connect_timeout=2&keepalives_idle=20&keepalives_interval=2&keepalives_count=3"
FENCE_LINE = re.compile(
    r"worker (?P<worker>\S+) stopped; fencing: (?P<attempted>\d+) writes attempted, "
    r"(?P<refused>\d+) refused; (?P<late_attempted>\d+) sent past their lease, "
    r"(?P<late_refused>\d+) of them refused"
)
REFUSAL = re.compile(r"fencing refused a write of run (?P<run>\S+) at epoch (?P<epoch>\d+)")


def why_not_possible() -> str | None:
    """Why the scale-out test cannot run on this host, or None."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if server_binaries() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no `postgres` OS user to run the PostgreSQL cluster as"
    return why_not_supported()


@dataclass
class Process:
    """One agentdeck command running on a machine, its output in a log file."""

    name: str
    machine: Machine
    popen: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(
                f"{self.name} on {self.machine.name} exited with {self.popen.returncode}:\n"
                + self.log.read_text()[-3000:]
            )

    def terminate(self) -> None:
        """SIGTERM, as an operator would: a worker finishes or releases its runs and says so."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def fence(self) -> dict[str, int]:
        """The fencing counters the worker logged when it stopped."""
        found = FENCE_LINE.search(self.log.read_text())
        assert found is not None, f"{self.name} logged no fencing counters:\n{self.log}"
        return {k: int(v) for k, v in found.groupdict().items() if k != "worker"}

    def first_refusal_at(self) -> datetime | None:
        """When the worker logged its first refused write (local time, as logging writes it)."""
        for line in self.log.read_text().splitlines():
            if REFUSAL.search(line):
                return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        return None

    def refused_runs(self) -> list[str]:
        """The runs of every write this worker's fence refused, one entry per write."""
        return [m["run"] for m in REFUSAL.finditer(self.log.read_text())]


@dataclass
class Deployment:
    """The network, the database and the processes; `close()` undoes all of it."""

    workdir: Path
    simulator_latency: float
    network: Network = field(default_factory=Network)
    processes: list[Process] = field(default_factory=list)
    cluster: Cluster | None = None

    def open(self) -> None:
        self.network.open()
        self.m1 = self.network.add("m1")
        self.m2 = self.network.add("m2")
        # the machine that suffers delay and loss: through the userspace wire without netem
        self.m3 = self.network.add("m3", wired=not has_netem())
        bindir = server_binaries()
        assert bindir is not None
        self.cluster = Cluster(bindir, self.network.gateway, f"{self.network.gateway}/24")
        self.cluster.start()
        subprocess.run(
            [sys.executable, "-m", "agentdeck.cli", "db", "upgrade"],
            env=self.env(),
            cwd=self.workdir,
            check=True,
            capture_output=True,
        )

    @property
    def wired(self) -> bool:
        return self.m3.wire is not None

    @property
    def api_url(self) -> str:
        return f"http://{self.m1.address}:{PORT}"

    def env(self) -> dict[str, str]:
        assert self.cluster is not None
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
        return {
            **{k: v for k, v in os.environ.items() if k in keep},
            "AGENTDECK_DATABASE_URL": self.cluster.url + CLIENT_PARAMETERS,
            "AGENTDECK_DATA_DIR": str(self.workdir / "data"),
            "AGENTDECK_TOKEN": TOKEN,
            "AGENTDECK_SIMULATOR": "always",
            "AGENTDECK_SIMULATOR_LATENCY": str(self.simulator_latency),
            **TIMING,
        }

    def start(self, name: str, machine: Machine, *args: str) -> Process:
        log = self.workdir / f"{name}.log"
        command = machine.command([sys.executable, "-m", "agentdeck.cli", *args])
        with log.open("ab") as out:
            popen = subprocess.Popen(
                command, env=self.env(), cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT
            )
        process = Process(name, machine, popen, log)
        self.processes.append(process)
        return process

    def serve(self, machine: Machine) -> Process:
        return self.start("serve", machine, "serve", "--host", machine.address, "--port", str(PORT))

    def worker(self, name: str, machine: Machine, concurrency: int) -> Process:
        return self.start(name, machine, "worker", "--concurrency", str(concurrency))

    async def connections(self) -> Counter[str]:
        """Client connections PostgreSQL holds now, by machine."""
        assert self.cluster is not None
        names = {m.address: m.name for m in self.network.machines}
        query = (
            "select client_addr::text, count(*) from pg_stat_activity"
            " where backend_type = 'client backend' group by 1"
        )
        async with await psycopg.AsyncConnection.connect(self.cluster.url) as conn:
            rows = await (await conn.execute(query)).fetchall()
        found: Counter[str] = Counter()
        for address, count in rows:
            address = str(address).split("/")[0]
            if address in names:
                found[names[address]] = count
        return found

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def close(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
        if self.cluster is not None:
            self.cluster.stop(self.workdir / "postgres.log")
        self.network.close()
