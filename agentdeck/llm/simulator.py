"""The offline simulator: a real pydantic-ai Model that answers deterministically, per role.

It is what every agent uses when no provider key is configured, so a new user sees each
workflow run end to end. Answers (see `simulated_roles`) say they come from the
simulator; latency and a failure rate can be set for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Iterator
from typing import Any

from pydantic_ai.exceptions import ModelUnavailableError
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.usage import RequestUsage

from agentdeck.llm.config import SimulatorConfig
from agentdeck.llm.simulated_roles import answer, digest

NAME = "simulator"
_ROLE_MARKER = re.compile(r"\brole:\s*([a-z][a-z0-9_-]*)", re.IGNORECASE)


class SimulatorModel(Model):
    """Deterministic role-playing model; `role` None reads `role: X` from the instructions."""

    def __init__(self, role: str | None = None, config: SimulatorConfig | None = None) -> None:
        super().__init__(
            profile=ModelProfile(supports_json_schema_output=True, supports_json_object_output=True)
        )
        self.role = role
        self.config = config or SimulatorConfig()
        # Failures are drawn from a seeded generator: the same sequence in every process.
        self._rng = random.Random(self.config.seed)

    @property
    def model_name(self) -> str:
        return NAME

    @property
    def system(self) -> str:
        return NAME

    @property
    def base_url(self) -> str | None:
        return None

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        config = self.config
        if config.latency > 0:
            await asyncio.sleep(config.latency)
        if config.failure_rate > 0 and self._rng.random() < config.failure_rate:
            raise ModelUnavailableError(NAME, "simulated outage (AGENTDECK_SIMULATOR_FAILURE_RATE)")
        instructions, prompt, returns = _read(messages)
        role = self.role or _role_in(instructions) or "executor"
        tools = model_request_parameters.function_tools
        parts: list[ModelResponsePart]
        if tools and not returns:
            parts = list(_tool_calls(tools, prompt))
            produced = sum(len(p.args_as_json_str()) for p in parts if isinstance(p, ToolCallPart))
        else:
            text = answer(role, prompt)
            if returns:
                text += "\n\n" + "\n".join(f"<!-- tool {n}: {r[:200]} -->" for n, r in returns)
            parts = [TextPart(text)]
            produced = len(text)
        usage = RequestUsage(
            input_tokens=(len(instructions) + len(prompt)) // 4 + 1,
            output_tokens=produced // 4 + 1,
        )
        return ModelResponse(parts=parts, usage=usage, model_name=NAME, provider_name=NAME)


def _read(messages: list[ModelMessage]) -> tuple[str, str, list[tuple[str, str]]]:
    """(instructions, user prompt text, tool results) of a conversation."""
    instructions: list[str] = []
    prompt: list[str] = []
    returns: list[tuple[str, str]] = []
    for message in messages:
        if not isinstance(message, ModelRequest):
            continue
        if message.instructions:
            instructions.append(message.instructions)
        for part in message.parts:
            if isinstance(part, UserPromptPart):
                content = part.content
                prompt.append(content if isinstance(content, str) else _text_of(content))
            elif isinstance(part, SystemPromptPart):
                instructions.append(part.content)
            elif isinstance(part, ToolReturnPart):
                returns.append((part.tool_name, part.model_response_str()))
    return "\n".join(instructions), "\n".join(prompt), returns


def _text_of(content: Any) -> str:
    return "\n".join(c for c in content if isinstance(c, str))


def _role_in(instructions: str) -> str | None:
    match = _ROLE_MARKER.search(instructions)
    return match.group(1).lower() if match else None


def _tool_calls(tools: list[ToolDefinition], prompt: str) -> Iterator[ToolCallPart]:
    """Call each offered tool once, with the simplest arguments its schema accepts."""
    words = prompt.split()[:3]
    for i, tool in enumerate(tools):
        schema = tool.parameters_json_schema
        props: dict[str, Any] = schema.get("properties", {})
        args = {name: _sample(props.get(name, {}), words) for name in schema.get("required", [])}
        call_id = f"sim-{i}-{digest(tool.name, prompt).hex()[:8]}"
        yield ToolCallPart(tool.name, json.dumps(args), tool_call_id=call_id)


def _sample(schema: dict[str, Any], words: list[str]) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    return {
        "integer": 1,
        "number": 1.0,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }.get(str(kind), " ".join(words) or "simulated")
