"""Typed errors that every layer raises and the API maps to HTTP statuses."""

from __future__ import annotations


class AgentdeckError(Exception):
    """Base of every error agentdeck raises on purpose."""


class NotFound(AgentdeckError):
    """The thing asked for does not exist (HTTP 404)."""


class InvalidInput(AgentdeckError):
    """Input failed validation; `field` names what to fix (HTTP 422)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IllegalTransition(AgentdeckError):
    """A state change the state machine does not allow (HTTP 409)."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} is {current}; it cannot become {target}")
        self.entity = entity
        self.current = current
        self.target = target


class Conflict(AgentdeckError):
    """The request collides with the current state (HTTP 409)."""


class LeaseLost(AgentdeckError):
    """This worker no longer holds the run's lease; nothing it writes is kept."""


class TransientError(AgentdeckError):
    """A failure worth retrying: raise it (or subclass it) from a step to get backoff retries."""


class StepFailed(AgentdeckError):
    """A step kept failing after its retries; carries the last error's text."""

    def __init__(self, key: str, error: str, attempts: int) -> None:
        super().__init__(f"step {key!r} failed after {attempts} attempt(s): {error}")
        self.key = key
        self.error = error
        self.attempts = attempts
