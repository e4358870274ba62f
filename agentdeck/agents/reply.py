"""What an agent call gives back to a workflow, rebuilt the same from a journaled step."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agentdeck.llm.names import ModelRef

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n```\s*$", re.DOTALL)


@dataclass(frozen=True)
class AgentReply:
    """The answer of an agent: its text, the model that gave it, tokens and cost."""

    agent: str
    role: str
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal | None
    latency_ms: float
    simulated: bool
    steps: list[str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        """`provider:model` of the model that answered (`simulator` for the simulator)."""
        return ModelRef(self.provider, self.model).id

    def json(self) -> Any:
        """The answer parsed as JSON (a ```json fence around it is allowed).

        ValueError if the text holds no JSON value, with the start of the text to show why.
        """
        text = self.text.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:
            return json.loads(text)
        except ValueError:
            pass
        for opener in ("{", "["):
            start = text.find(opener)
            if start != -1:
                try:
                    value, _ = json.JSONDecoder().raw_decode(text, start)
                    return value
                except ValueError:
                    continue
        raise ValueError(f"the answer of agent {self.agent!r} is not JSON: {text[:120]!r}")


def reply_from_records(records: list[dict[str, Any]], steps: list[str]) -> AgentReply:
    """One reply from the journaled records of a call's model steps (several with tools)."""
    last = records[-1]
    costs = [r["cost_usd"] for r in records]
    return AgentReply(
        agent=last["agent"],
        role=last["role"],
        text=last["text"],
        provider=last["provider"],
        model=last["model"],
        input_tokens=sum(r["input_tokens"] for r in records),
        output_tokens=sum(r["output_tokens"] for r in records),
        cached_tokens=sum(r["cached_tokens"] for r in records),
        cost_usd=None if None in costs else sum((Decimal(c) for c in costs), Decimal(0)),
        latency_ms=sum(r["latency_ms"] for r in records),
        simulated=last["simulated"],
        steps=steps,
        attempts=[a for r in records for a in r["attempts"]],
    )
