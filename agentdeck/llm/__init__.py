"""Models by name, provider fallback, usage and cost, rate limits, and the offline simulator.

Importing this package is cheap: the names that need pydantic-ai (seconds to import) are
loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentdeck.llm.config import Endpoint, LLMConfig, SimulatorConfig
from agentdeck.llm.limits import Limits, RateLimit
from agentdeck.llm.names import SIMULATOR_REF, ModelRef, parse_model_name
from agentdeck.llm.providers import MissingKey, ModelFactory

if TYPE_CHECKING:
    from agentdeck.llm.calls import Answer, Attempt, ModelCaller
    from agentdeck.llm.errors import ModelUnavailable
    from agentdeck.llm.simulator import SimulatorModel

_LAZY = {
    "Answer": "agentdeck.llm.calls",
    "Attempt": "agentdeck.llm.calls",
    "ModelCaller": "agentdeck.llm.calls",
    "ModelUnavailable": "agentdeck.llm.errors",
    "SimulatorModel": "agentdeck.llm.simulator",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SIMULATOR_REF",
    "Answer",
    "Attempt",
    "Endpoint",
    "LLMConfig",
    "Limits",
    "MissingKey",
    "ModelCaller",
    "ModelFactory",
    "ModelRef",
    "ModelUnavailable",
    "RateLimit",
    "SimulatorConfig",
    "SimulatorModel",
    "parse_model_name",
]
