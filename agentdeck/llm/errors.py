"""Which model failures are worth retrying, and how to describe one without leaking a secret."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic_ai.exceptions import (
    ContentFilterError,
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelRequestTimeout,
    ModelServerError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
)

from agentdeck.domain.errors import AgentdeckError
from agentdeck.llm.keys import Redactor

_MESSAGE_LIMIT = 300
_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})


class ModelUnavailable(AgentdeckError):
    """Every model of an agent's chain failed; `attempts` says how each one did."""

    def __init__(self, message: str, attempts: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt as it may be recorded: class, HTTP status, provider code, redacted text."""

    error_class: str
    transient: bool
    status: int | None
    code: str | None
    message: str
    retry_after: float | None

    def summary(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.error_class}{status}: {self.message}"


def is_transient(error: BaseException) -> bool:
    """True for 429s, 5xx, timeouts, refused or broken connections and garbled responses.

    Permanent: the request itself was refused (400, 401, 403, 404, 422), quota or billing is
    exhausted, content was filtered, a key is missing, or the error is not a model error
    at all. A permanent error is not retried on the same model; the chain moves on.
    """
    if isinstance(error, ModelQuotaExceededError | ModelRequestRejectedError | ContentFilterError):
        return False
    if isinstance(
        error,
        ModelRateLimitError
        | ModelUnavailableError
        | ModelServerError
        | ModelConnectionError
        | ModelRequestTimeout
        | TimeoutError
        | httpx.TransportError,
    ):
        return True
    if isinstance(error, ModelHTTPError):
        return error.status_code in _TRANSIENT_STATUS or error.status_code >= 500
    # An uncategorised API error is a response that could not be read (a malformed or
    # truncated body): usually a proxy or network hiccup, so worth another try.
    return isinstance(error, ModelAPIError | UnexpectedModelBehavior)


def describe(error: BaseException, redactor: Redactor) -> Failure:
    """The safe description of `error`: the text is redacted and cut, the body never kept whole."""
    status = error.status_code if isinstance(error, ModelHTTPError) else None
    code = error.provider_error_code if isinstance(error, ModelAPIError) else None
    retry_after = error.retry_after if isinstance(error, ModelAPIError) else None
    if isinstance(error, TimeoutError) and not str(error):
        text = "no answer within the request timeout"
    elif isinstance(error, ModelHTTPError):
        text = _http_text(error)
    else:
        text = str(error) or type(error).__name__
    text = redactor.redact(" ".join(text.split()))
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1] + "…"
    return Failure(type(error).__name__, is_transient(error), status, code, text, retry_after)


def _http_text(error: ModelHTTPError) -> str:
    """The provider's own error message if the body has one, else the status line."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(message, str) and message:
            return message
    return f"status {error.status_code} from {error.model_name}"
