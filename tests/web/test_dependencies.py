"""The API's dependencies run on the event loop: FastAPI runs a plain-function dependency
in a thread, one hop per request for what takes microseconds."""

from __future__ import annotations

import inspect

import pytest

from agentdeck.web.auth import require_token
from agentdeck.web.dependencies import get_deck, reject_nul_params


@pytest.mark.parametrize("dependency", [get_deck, require_token, reject_nul_params])
def test_every_api_request_dependency_is_a_coroutine(dependency: object) -> None:
    assert inspect.iscoroutinefunction(dependency)
