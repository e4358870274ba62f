"""Messages to and from models as the runner records them: texts, tool calls, output tools."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    ModelResponsePart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition

OUTPUT_TOOL = "final_result"  # the name pydantic-ai gives its output tool


def texts(messages: list[ModelMessage]) -> list[str]:
    out: list[str] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, UserPromptPart | TextPart) and isinstance(part.content, str):
                out.append(part.content)
            elif isinstance(part, ToolReturnPart):
                out.append(part.model_response_str())
            elif isinstance(part, ToolCallPart):
                out.append(part.args_as_json_str())
    return out


def text_of(response: ModelResponse) -> str:
    """The answer's text; for structured output, the JSON the output tool was called with."""
    for part in response.parts:
        if isinstance(part, ToolCallPart) and part.tool_name == OUTPUT_TOOL:
            return part.args_as_json_str()
    return "".join(p.content for p in response.parts if isinstance(p, TextPart))


def structured(output: type[BaseModel]) -> ModelRequestParameters:
    """Request parameters asking for `output` through an output tool (pydantic-ai's default
    output mode, which every provider with tool calls supports); text stays allowed so a
    model without tool calls still answers, and its text is read instead."""
    tool = ToolDefinition(
        name=OUTPUT_TOOL,
        parameters_json_schema=output.model_json_schema(),
        description=(output.__doc__ or "The final answer.").strip(),
        kind="output",
    )
    return ModelRequestParameters(output_mode="tool", output_tools=[tool], allow_text_output=True)


def response_of(record: dict[str, Any]) -> ModelResponse:
    parts: list[ModelResponsePart] = []
    if record["text"]:
        parts.append(TextPart(record["text"]))
    parts += [
        ToolCallPart(c["name"], json.dumps(c["args"]), tool_call_id=c["id"])
        for c in record["tool_calls"]
    ]
    return ModelResponse(parts=parts, model_name=record["model"])
