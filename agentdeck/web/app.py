"""create_app(deck): the ASGI application; it reads and commands the engine through the Deck."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from agentdeck import __version__
from agentdeck.deck import Deck
from agentdeck.web import errors, pages
from agentdeck.web.api import (
    agents,
    builds,
    external,
    runs,
    schedules,
    stacks,
    system,
    tasks,
    tokens,
)
from agentdeck.web.auth import require_token
from agentdeck.web.dependencies import reject_nul_params
from agentdeck.web.edge import Edge
from agentdeck.web.login_throttle import LoginThrottle
from agentdeck.web.metrics import Metrics, MetricsMiddleware
from agentdeck.web.openapi_rules import add_rules

log = logging.getLogger(__name__)

DESCRIPTION = """Run, watch and steer AI-agent workflows.

Errors are JSON: `{"error": {"message": "...", "field": "..."}}`. When the server has an
AGENTDECK_TOKEN, every request but /api/health sends `Authorization: Bearer <token>`.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The deck is the caller's to start and close; the app stops what it started itself."""
    yield
    feed = getattr(app.state, "event_feed", None)  # the live streams' reader, if one started
    if feed is not None:
        await feed.stop()


def create_app(deck: Deck, bound_host: str | None = None) -> FastAPI:
    """The API and the dashboard over `deck`; the caller starts and closes the deck.

    `bound_host` is the address the server listens on (default: the host setting); the
    edge answers only requests whose Host names it, loopback, or AGENTDECK_ALLOWED_HOSTS.
    """
    app = FastAPI(
        title="agentdeck",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,  # /api/docs is a page of this site: web/pages/api_docs.py
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.deck = deck
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # added last, so it runs first: nothing reaches the app past a refusal of the edge
    settings = deck.settings
    app.state.login_throttle = LoginThrottle(
        settings.login_attempts, settings.login_lockout.total_seconds()
    )
    app.add_middleware(
        Edge,
        settings=settings,
        bound_host=bound_host or settings.host,
        throttle=app.state.login_throttle,
    )
    errors.install(app)

    guarded: list[Any] = [Depends(require_token), Depends(reject_nul_params)]
    app.include_router(system.open_router, dependencies=[Depends(reject_nul_params)])
    for router in (
        runs.router,
        agents.router,
        builds.router,
        stacks.router,
        schedules.router,
        system.router,
        tasks.router,
        external.admin_router,
        tokens.router,
    ):
        app.include_router(router, dependencies=guarded)
    # external agents always send their own token, never the admin's
    app.include_router(external.agent_router, dependencies=[Depends(reject_nul_params)])
    _include_live(app, guarded)
    pages.install(app)  # the dashboard: HTML twins of the API's views, and /static
    _name_workflows_in_openapi(app, deck)
    return app


def _name_workflows_in_openapi(app: FastAPI, deck: Deck) -> None:
    """List the registered workflows as examples of RunIn.workflow in the published spec,
    and state the rules the server enforces (web/openapi_rules.py)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            names = [w.name for w in deck.registry.list()]
            run_in = schema.get("components", {}).get("schemas", {}).get("RunIn", {})
            if names and "workflow" in run_in.get("properties", {}):
                run_in["properties"]["workflow"]["examples"] = names
            add_rules(schema, deck.settings)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _include_live(app: FastAPI, dependencies: list[Any]) -> None:
    """Mount the SSE streams (/api/stream, /api/runs/{id}/stream) behind the same token."""
    try:
        from agentdeck.web.live import router as live_router
    except ImportError as error:
        # agentdeck.web.live is written in parallel with this module; until it lands the
        # API serves without streams. Only the module's absence is tolerated: a live
        # module that exists but fails to import is a bug and stops the app from starting.
        if error.name != "agentdeck.web.live":
            raise
        log.info("agentdeck.web.live is not there: serving without live streams")
        return
    app.include_router(
        live_router, dependencies=dependencies, responses=errors.responses(401, 404, 422)
    )
