"""Machines made of network namespaces on a private bridge, and the faults of their links.

Each machine is a namespace with one interface on the bridge `10.213.N.0/24` (N drawn at
random); the bridge itself holds `10.213.N.1`, where the test's PostgreSQL listens. A
machine is linked by a veth pair, or by the userspace wire (tests/scaleout/wire.py) where
the kernel has no `netem` and the machine must suffer delay or loss.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def why_not_supported() -> str | None:
    """Why this host cannot make namespaces (not root, no `ip`, no permission), or None."""
    name = f"adprobe{random.randrange(10**6)}"
    try:
        ip("netns", "add", name)
    except FileNotFoundError:
        return "the `ip` command (iproute2) is not installed"
    except subprocess.CalledProcessError as error:
        return f"`ip netns add` is not permitted here: {error.stderr.strip()}"
    ip("netns", "del", name)
    return None


def has_netem() -> bool:
    """Whether the kernel has the netem queueing discipline (`tc qdisc add ... netem`)."""
    name = f"adnetem{random.randrange(10**6)}"
    try:
        ip("link", "add", name, "type", "dummy")
    except (FileNotFoundError, subprocess.CalledProcessError):
        return False
    try:
        probe = ["tc", "qdisc", "add", "dev", name, "root", "netem", "delay", "1ms"]
        return subprocess.run(probe, capture_output=True).returncode == 0
    except FileNotFoundError:
        return False
    finally:
        ip("link", "del", name)


@dataclass
class Machine:
    """One namespace with its address and the bridge-side end of its link."""

    name: str
    namespace: str
    address: str
    port: str  # the link's end on the bridge: set down, the machine is cut off
    wire: subprocess.Popen[str] | None = None

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside this machine."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def cut(self) -> None:
        """Partition: the machine's link goes down at the bridge; its packets are dropped."""
        ip("link", "set", self.port, "down")

    def heal(self) -> None:
        ip("link", "set", self.port, "up")

    def impair(self, *, delay: float = 0.0, loss: float = 0.0) -> None:
        """Delay (seconds) and lose (fraction) the frames this machine sends."""
        if self.wire is None:
            netem = ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem"]
            netem += ["delay", f"{int(delay * 1000)}ms", "loss", f"{loss * 100}%"]
            subprocess.run(self.command(netem), check=True, capture_output=True)
            return
        self._tell(f"delay {delay}")
        self._tell(f"loss {loss}")

    def repair(self) -> None:
        if self.wire is None:
            clear = ["tc", "qdisc", "del", "dev", "eth0", "root"]
            subprocess.run(self.command(clear), check=True, capture_output=True)
            return
        self._tell("clear")

    def _tell(self, line: str) -> None:
        assert self.wire is not None
        assert self.wire.stdin is not None
        assert self.wire.stdout is not None
        self.wire.stdin.write(line + "\n")
        self.wire.stdin.flush()
        answer = self.wire.stdout.readline().strip()
        assert answer == "ok", f"the wire of {self.name} answered {answer!r} to {line!r}"


def free_subnet() -> int:
    """N such that no interface of this host has an address in 10.213.N.0/24."""
    taken = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    while True:
        subnet = random.randrange(2, 250)
        if f"10.213.{subnet}." not in taken and f"ad{subnet}-" not in namespaces:
            return subnet


@dataclass
class Network:
    """A bridge with its machines; `close()` removes every device and namespace made."""

    subnet: int = field(default_factory=free_subnet)
    machines: list[Machine] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prefix = f"ad{self.subnet}"
        self.bridge = f"{self.prefix}br"
        self.gateway = f"10.213.{self.subnet}.1"

    def open(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, name: str, *, wired: bool = False) -> Machine:
        """A machine on the bridge; `wired`: linked through the userspace wire."""
        index = len(self.machines) + 1
        namespace = f"{self.prefix}-{name}"
        ip("netns", "add", namespace)
        ip("-n", namespace, "link", "set", "lo", "up")
        inside, port = f"{self.prefix}m{index}", f"{self.prefix}p{index}"
        wire = None
        if wired:
            wire = subprocess.Popen(
                [sys.executable, "-m", "tests.scaleout.wire", inside, port],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert wire.stdout is not None
            assert wire.stdout.readline().strip() == "ready", "the wire did not start"
            ip("link", "set", inside, "netns", namespace)
        else:
            ip("link", "add", port, "type", "veth", "peer", "name", inside, "netns", namespace)
        ip("-n", namespace, "link", "set", inside, "name", "eth0")
        address = f"10.213.{self.subnet}.{10 + index}"
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("link", "set", port, "master", self.bridge, "up")
        machine = Machine(name, namespace, address, port, wire)
        self.machines.append(machine)
        return machine

    def close(self) -> None:
        for machine in self.machines:
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("netns", "del", machine.namespace)
            if machine.wire is not None:
                machine.wire.kill()
                machine.wire.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("link", "del", self.bridge)
