"""Scripted internal agents for plan runs: timings per task, injected failures, held calls."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentdeck.deck import Deck

ROLES = ("executor", "coder", "reviewer")
_TASK_ID = re.compile(r'"id": "([^"]+)"')


@dataclass
class Call:
    key: str
    started: float
    ended: float | None = None
    failed: bool = False


@dataclass
class Script:
    """What the simulated agents do: wait `latency`, fail the first N calls of some tasks."""

    latency: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # task -> calls that fail
    holds: dict[str, asyncio.Event] = field(default_factory=dict)  # task -> released when set
    entered: dict[str, asyncio.Event] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def counts(self) -> Counter[str]:
        return Counter(c.key for c in self.calls)

    def hold(self, key: str) -> asyncio.Event:
        self.holds[key] = asyncio.Event()
        self.entered[key] = asyncio.Event()
        return self.holds[key]


def script_agents(deck: Deck, monkeypatch: pytest.MonkeyPatch, script: Script) -> Script:
    """Make the simulator answer the plan's task roles as `script` says."""
    for role in ROLES:
        model = deck.llm.factory.simulator(role)
        monkeypatch.setattr(model, "request", _scripted(model.request, script))
    return script


def _scripted(request: Any, script: Script) -> Any:
    async def call(messages: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(messages[-1].parts[-1].content)
        found = _TASK_ID.search(text)
        key = found.group(1) if found else "?"
        record = Call(key, time.monotonic())
        script.calls.append(record)
        script.in_flight += 1
        script.most_in_flight = max(script.most_in_flight, script.in_flight)
        try:
            if key in script.entered:
                script.entered[key].set()
            if key in script.holds:
                await script.holds[key].wait()
            if script.latency:
                await asyncio.sleep(script.latency)
            if script.failures.get(key, 0) > 0:
                script.failures[key] -= 1
                record.failed = True
                raise RuntimeError(f"scripted failure of {key}")
            return await request(messages, *args, **kwargs)
        finally:
            script.in_flight -= 1
            record.ended = time.monotonic()

    return call


def layered(layers: int, width: int, fan_in: int = 2) -> list[dict[str, Any]]:
    """`layers` x `width` tasks; each depends on `fan_in` tasks of the layer before."""
    return [
        {
            "id": f"L{layer}-{i}",
            "title": f"Task {layer}-{i}",
            "prerequisites": (
                [f"L{layer - 1}-{(i + k) % width}" for k in range(fan_in)] if layer else []
            ),
        }
        for layer in range(layers)
        for i in range(width)
    ]
