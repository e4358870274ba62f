"""Schemathesis against /api/openapi.json: no 5xx, and no answer that breaks the spec.

Every operation but the live streams (they never end) is called with generated valid and
invalid data, then once more with the ids of real runs, artifacts and agents, so the
answers of the happy paths (200, 201, 204, 409) are checked against the spec as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings

TOKEN = "fuzz-s3cret-token"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
async def seeded_app(database_url: str, registry: Registry) -> AsyncIterator[FastAPI]:
    """An app with a token over a deck holding a finished run (events, steps, artifacts), a
    waiting, a queued and a cancelled one, and an agent of its own; their ids in app.state."""
    deck = Deck(fast_settings(database_url, token=TOKEN), registry=registry, migrate=False)
    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    finished = await deck.submit("echo", {"topic": "fuzz"})
    waiting = await deck.submit("gated")
    await worker.run_once()
    cancelled = await deck.cancel((await deck.submit("echo")).id)
    queued = await deck.submit("echo", priority=5)
    await worker.stop()
    await deck.agents.create({"name": "critic", "role": "evaluator"})
    stack = await deck.stacks.create("fuzzed", idea="maps")
    app = create_app(deck)
    app.state.seeded = {
        "run_id": [finished.id, waiting.id, cancelled.id, queued.id],
        "artifact_id": [a.id for a in await deck.artifacts(finished.id)],
        "name": ["producer", "critic"],
        "gate": ["review"],
        "stack_id": [stack.id],
        "action": ["start", "pause", "resume", "stop"],
    }
    try:
        yield app
    finally:
        await deck.close()


@pytest.fixture
def api_schema(seeded_app: FastAPI) -> BaseSchema:
    """The published spec; schemathesis sends the token where the spec asks for it, and
    leaves it out or spoils it in negative cases."""
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}}})
    spec = schemathesis.openapi.from_asgi("/api/openapi.json", seeded_app, config=config)
    return spec.exclude(path_regex=r"/stream$")


SEEN: Counter[tuple[str, int]] = Counter()


def check(case: Case[Any]) -> None:
    response = case.call_and_validate(checks=CHECKS)
    SEEN[(case.operation.label, response.status_code)] += 1


@pytest.mark.timeout(300)
def test_generated_requests_get_answers_within_the_spec(api_schema: BaseSchema) -> None:
    # schemathesis' pytest wrapper (`from_fixture(...).parametrize()`) writes
    # `request.node._nodeid`, which pytest 9 no longer has; its test builder is driven
    # directly instead, with the same phases: examples, coverage (boundaries), fuzzing.
    SEEN.clear()
    failures: list[str] = []
    operations = 0
    tests = get_all_tests(schema=api_schema, test_func=check, settings=FUZZ, given_kwargs=None)
    for result in tests:
        assert isinstance(result, Ok), result
        operation, test = result.ok()
        operations += 1
        try:
            test()
        except (Exception, BaseExceptionGroup) as error:  # schemathesis' FailureGroup is Base
            failures.append(f"{operation.label}:\n{error}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 20
    # the generated data reached the happy paths, not only the validation errors
    for label, status in [
        ("POST /api/runs", 201),
        ("GET /api/runs", 200),
        ("POST /api/agents", 201),
        ("GET /api/agents", 200),
        ("GET /metrics", 200),
    ]:
        assert SEEN[(label, status)] > 0, (label, status, sorted(SEEN.items()))


BODIES: dict[str, Any] = {
    "POST /api/runs/{run_id}/gates/{gate}": {"decision": "approve"},
    "PATCH /api/agents/{name}": {"description": "changed"},
}
# Steering first reads, then changes: each run passes through several states.
ORDER = ["GET", "PATCH", "PUT", "POST", "DELETE"]


def test_requests_on_real_ids_get_answers_within_the_spec(
    api_schema: BaseSchema, seeded_app: FastAPI
) -> None:
    seeded: dict[str, list[str]] = seeded_app.state.seeded
    operations = [r.ok() for r in api_schema.get_all_operations() if isinstance(r, Ok)]
    operations.sort(key=lambda op: (ORDER.index(op.method.upper()), op.path))
    statuses: Counter[int] = Counter()
    for operation in operations:
        names = [n for n in seeded if f"{{{n}}}" in operation.path]
        if not names:
            continue
        for index in range(max(len(seeded[n]) for n in names)):
            params = {n: seeded[n][index % len(seeded[n])] for n in names}
            body = BODIES.get(operation.label)
            case = operation.Case(path_parameters=params, **({"body": body} if body else {}))
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS
            )
            statuses[response.status_code] += 1
    assert {200, 201, 204, 409} <= set(statuses), statuses
