"""The dashboard: server-rendered pages over the Deck, each with a JSON twin (`?format=json`).

`install(app)` mounts the static files and every page router. A new page area (say, a
plan's execution page) is one more module here whose router uses templating.PageRoute,
added to ROUTERS below, plus its entry in templating.NAV.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from agentdeck.web import errors
from agentdeck.web.dependencies import reject_nul_params
from agentdeck.web.pages import (
    agents,
    api_docs,
    builds,
    execution,
    new_run,
    overview,
    run_detail,
    runs,
    schedules,
    session,
    stack_detail,
    stacks,
    tokens,
    workers,
)
from agentdeck.web.pages.templating import STATIC, error_page, wants_json

# in this order: /runs/new must come before /runs/{run_id} (the first matching route wins)
# Paths whose errors are always JSON: the API, the metrics, the static files.
MACHINE_PATHS = ("/api", "/metrics", "/static", "/openapi")
ROUTERS: list[APIRouter] = [
    session.router,
    api_docs.router,
    overview.router,
    runs.router,
    new_run.router,
    execution.router,  # before agents: /agents/external is not an agent named "external"
    run_detail.router,
    agents.router,
    stacks.router,  # before stack_detail: /stacks/new is not a stack named "new"
    stack_detail.router,
    builds.router,
    schedules.router,
    workers.router,
    tokens.router,
]


def install(app: FastAPI) -> None:
    """Serve the pages and /static on `app` (after the API, so /api paths win)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(reject_nul_params)])
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _http_error(request: Request, error: Exception) -> Response:
    """An unknown dashboard URL is an HTML page saying so; the API's stay JSON."""
    assert isinstance(error, StarletteHTTPException)
    path = request.url.path
    machine = path == "/api" or path.startswith(tuple(p + "/" for p in MACHINE_PATHS))
    if error.status_code != 404 or machine or wants_json(request) or path == "/metrics":
        return await errors.http_error(request, error)
    message = (
        f"There is no page at {path}. Runs are listed under Runs; a run's page is /runs/<run id>."
    )
    return error_page(request, 404, message)
