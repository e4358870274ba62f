"""Errors as JSON: every failure is `{"error": {"message", "field"}}`, never a stack trace.

Domain errors map to statuses (NotFound 404, InvalidInput 422, IllegalTransition and
Conflict 409, any other AgentdeckError 400); FastAPI's request validation becomes a 422
naming the first bad field; an unexpected exception is logged and answered with a plain 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentdeck.domain.errors import (
    AgentdeckError,
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from agentdeck.web.login_throttle import TooManyAttempts
from agentdeck.web.schemas import ErrorOut

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[AgentdeckError], int], ...] = (
    (NotFound, 404),
    (InvalidInput, 422),
    (IllegalTransition, 409),
    (Conflict, 409),
)

DESCRIPTIONS = {
    400: "The body could not be read: send UTF-8 JSON.",
    401: "Missing or wrong `Authorization: Bearer <token>` (only when AGENTDECK_TOKEN is set).",
    403: "A scoped API token whose scopes do not allow this request (the message says why).",
    404: "Nothing with that id or name.",
    409: "The request collides with the current state (e.g. an illegal transition).",
    422: "Bad input; `error.field` names what to fix.",
    429: "Too many wrong tokens from this address: wait `Retry-After` seconds.",
}


class Unauthorized(Exception):
    """The request lacks the API token (HTTP 401)."""


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, all with the ErrorOut body."""
    return {code: {"model": ErrorOut, "description": DESCRIPTIONS[code]} for code in codes}


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


def field_name(loc: Sequence[int | str]) -> str | None:
    """("body", "inputs", "topic") -> "inputs.topic"; ("query", "status", 0) -> "status"."""
    if loc and loc[0] in ("query", "path", "header"):
        return str(loc[1]) if len(loc) > 1 else None
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    if not parts:
        return "body" if loc else None
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# pydantic's error types that read better as a phrase after the field's name
PHRASES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "dict_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
}


def _line(error: dict[str, Any]) -> str:
    """One problem as a sentence: `priority: Input should be ...`, `workflow is required`."""
    name = field_name(error.get("loc", ()))
    kind = str(error.get("type"))
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "parse error")
        return f"the body is not valid JSON ({reason})"
    if kind in PHRASES:
        return f"{name} {PHRASES[kind]}" if name else f"the request {PHRASES[kind]}"
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    return f"{name}: {message}" if name else message


async def _agentdeck_error(request: Request, error: Exception) -> JSONResponse:
    status = next((code for kind, code in STATUS_OF if isinstance(error, kind)), 400)
    return error_response(status, str(error), getattr(error, "field", None))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if not problems:
        return error_response(422, "the request is invalid")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    message = "; ".join(_line(p) for p in problems[:3]) + more
    return error_response(422, message, field_name(problems[0].get("loc", ())))


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        message = f"no such path: {request.url.path} (the API is described at /api/docs)"
    elif error.status_code == 400 and request.method in ("POST", "PUT", "PATCH"):
        message = f"the body could not be read ({error.detail}): send UTF-8 JSON"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(error.detail)
    return error_response(error.status_code, message, headers=error.headers)


async def _unauthorized(request: Request, error: Exception) -> JSONResponse:
    return error_response(
        401,
        "this server needs its API token: send `Authorization: Bearer <AGENTDECK_TOKEN>`",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _too_many(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TooManyAttempts)
    return error_response(429, str(error), headers={"Retry-After": f"{error.retry_after:.0f}"})


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""
    app.add_exception_handler(AgentdeckError, _agentdeck_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(TooManyAttempts, _too_many)
    app.add_exception_handler(Exception, _unexpected)
