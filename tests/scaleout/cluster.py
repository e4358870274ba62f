"""A throwaway PostgreSQL cluster listening on the test network's bridge address."""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

# What a cut-off client must not be able to do to the others: hold row locks for as long
# as TCP takes to give up (minutes). A session idle inside a transaction is ended after 5 s
# (well within the test's 10 s lease, well above a round trip over a bad link), and a
# client that stops acknowledging what it is sent is dropped after 10 s.
SERVER_SETTINGS = """
listen_addresses = '{address}'
port = {port}
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
idle_in_transaction_session_timeout = 5000
tcp_user_timeout = 10000
tcp_keepalives_idle = 5
tcp_keepalives_interval = 1
tcp_keepalives_count = 5
"""


def server_binaries() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """initdb, start and stop, as the `postgres` OS user (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path, address: str, subnet: str, port: int = 5432) -> None:
        self.bindir = bindir
        self.address = address
        self.subnet = subnet
        self.port = port
        # not under pytest's tmp_path: its parents are private to root
        self.root = Path(tempfile.mkdtemp(prefix="agentdeck-scaleout-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        shutil.chown(self.root, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.address}:{self.port}/postgres"

    def _as_postgres(self, *argv: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        self._as_postgres(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            "--locale=C",
        )
        settings = SERVER_SETTINGS.format(address=self.address, port=self.port)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.subnet} trust\n")
        pg_ctl = str(self.bindir / "pg_ctl")
        self._as_postgres(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self, log_to: Path) -> None:
        """Stop the server, keep its log at `log_to`, remove the cluster."""
        pg_ctl = str(self.bindir / "pg_ctl")
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        with contextlib.suppress(OSError):
            shutil.copy(self.log, log_to)
        shutil.rmtree(self.root, ignore_errors=True)
