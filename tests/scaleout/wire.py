"""A userspace wire: a machine's network interface whose frames a relay carries, delayed or lost.

Used where the kernel has no `netem` queueing discipline. Two TAP devices are opened: one
is moved into the machine's namespace (its network interface), the other is a port of the
bridge. The relay copies every Ethernet frame between them; frames leaving the machine can
be delayed or dropped, as `tc qdisc add dev eth0 root netem delay ... loss ...` would do on
the machine's interface. The kernels at both ends see real loss and real latency: TCP
retransmits and backs off as it would on a bad link.

Run as `python -m tests.scaleout.wire <machine-tap> <bridge-tap>`; it prints `ready` once
both devices exist, then reads commands on stdin, one a line, answering `ok` to each:
`delay <seconds>`, `loss <fraction>`, `clear`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os
import random
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536


def open_tap(name: str) -> int:
    """A TAP device of this name, alive while the returned descriptor is open."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Relay:
    """Copies frames both ways; those leaving the machine pass through delay and loss."""

    def __init__(self, machine: int, bridge: int, seed: int = 0) -> None:
        self.machine = machine
        self.bridge = bridge
        self.delay = 0.0
        self.loss = 0.0
        self.random = random.Random(seed)
        # frames leaving the machine, in order, each with the time it may go on
        self.outbound: collections.deque[tuple[float, bytes]] = collections.deque()
        self.flushing: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    def start(self) -> None:
        self.loop.add_reader(self.machine, self.from_machine)
        self.loop.add_reader(self.bridge, self.from_bridge)

    def from_bridge(self) -> None:
        for frame in _read_all(self.bridge):
            _write(self.machine, frame)

    def from_machine(self) -> None:
        now = time.monotonic()
        for frame in _read_all(self.machine):
            if self.loss and self.random.random() < self.loss:
                continue
            if not self.delay and not self.outbound:
                _write(self.bridge, frame)
                continue
            # never before a frame sent earlier: a link delays, it does not reorder
            due = max(now + self.delay, self.outbound[-1][0] if self.outbound else now)
            self.outbound.append((due, frame))
        self.schedule()

    def schedule(self) -> None:
        if self.flushing is not None or not self.outbound:
            return
        wait = max(0.0, self.outbound[0][0] - time.monotonic())
        self.flushing = self.loop.call_later(wait, self.flush)

    def flush(self) -> None:
        self.flushing = None
        now = time.monotonic()
        while self.outbound and self.outbound[0][0] <= now:
            _write(self.bridge, self.outbound.popleft()[1])
        self.schedule()

    def command(self, line: str) -> None:
        words = line.split()
        if words == ["clear"]:
            self.delay, self.loss = 0.0, 0.0
        elif len(words) == 2 and words[0] == "delay":
            self.delay = float(words[1])
        elif len(words) == 2 and words[0] == "loss":
            self.loss = float(words[1])
        else:
            raise ValueError(f"unknown command {line!r}")


def _read_all(fd: int) -> list[bytes]:
    frames = []
    while True:
        try:
            frames.append(os.read(fd, MAX_FRAME))
        except (BlockingIOError, OSError):
            return frames


def _write(fd: int, frame: bytes) -> None:
    # the device is down (a partition) or full: the frame is lost, as on a wire
    with contextlib.suppress(OSError):
        os.write(fd, frame)


async def main(machine_tap: str, bridge_tap: str) -> None:
    relay = Relay(open_tap(machine_tap), open_tap(bridge_tap))
    relay.start()
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await relay.loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb")
    )
    while line := (await reader.readline()).decode():
        relay.command(line)
        print("ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
