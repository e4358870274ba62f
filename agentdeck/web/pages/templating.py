"""How a page answers: its template with the shared layout, or its JSON twin (`?format=json`).

Every page is built from one pydantic model of its data (made of the API's models in
web/schemas/); the HTML and the JSON are two views of that same value. This module
also owns the navigation, the Jinja filters (relative times, money, tokens), the static
file URLs, the security headers of every page, and PageRoute, which turns errors raised
by a page into an HTML page (or the API's JSON error for the twin).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentdeck.deck import Deck
from agentdeck.domain.errors import AgentdeckError
from agentdeck.web import errors, safe_html, sessions

WEB = Path(__file__).resolve().parent.parent
STATIC = WEB / "static"

# What a page may load and run: only this origin's files, no inline script, images from
# here or data: URLs. A second wall behind the sanitizer: if model output ever slipped
# through, the browser would still refuse to run it or to fetch from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    """An entry of the top navigation; `key` marks the current page."""

    key: str
    label: str
    href: str


# Pages added later (e.g. a plan's execution page) append their entry here.
NAV: list[NavItem] = [
    NavItem("overview", "Overview", "/"),
    NavItem("runs", "Runs", "/runs"),
    NavItem("new", "Start a run", "/runs/new"),
    NavItem("builds", "Builds", "/builds"),
    NavItem("repositories", "Repositories", "/repositories"),
    NavItem("agents", "Agents", "/agents"),
    NavItem("stacks", "Stacks", "/stacks"),
    NavItem("schedules", "Schedules", "/schedules"),
    NavItem("workers", "Workers", "/workers"),
    NavItem("tokens", "Tokens", "/tokens"),
]


# --- filters ------------------------------------------------------------------------


def ago_text(when: datetime | None, now: datetime) -> str:
    """'just now', '42 s ago', '3 min ago', '2 h ago', '5 d ago' (or 'in ...' ahead)."""
    if when is None:
        return "—"
    seconds = (now - when).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 5:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            return f"in {amount}" if ahead else f"{amount} ago"
    return "just now"


def duration_text(value: timedelta | float | None) -> str:
    """A duration as '850 ms', '12.3 s', '4 min 05 s' or '2 h 10 min'."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def money_text(value: str | Decimal | None) -> str:
    """USD with enough digits to tell small costs apart: $0.0042, $1.25."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    text = f"{amount:.4f}".rstrip("0")  # small costs keep up to 4 decimals, at least 2
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def tokens_text(value: int | None) -> str:
    if value is None:
        return "—"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return str(value)


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def clock_text(when: datetime | None) -> str:
    return "—" if when is None else when.strftime("%H:%M:%S")


def absolute_text(when: datetime | None) -> str:
    return "—" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")


@pass_context
def _ago(context: Context, when: datetime | None) -> str:
    return ago_text(when, context["now"])


def _static_versions() -> dict[str, str]:
    """A content hash per static file, so a new release never runs with a cached old script."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in STATIC.iterdir()
        if p.is_file()
    }


_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(WEB / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=_ago,
        duration=duration_text,
        money=money_text,
        tokens=tokens_text,
        score=score_text,
        clock=clock_text,
        absolute=absolute_text,
        urlquote=lambda value: quote(str(value), safe=""),
        markdown=safe_html.markdown_html,
    )
    env.globals.update(
        static_url=static_url,
        nav=NAV,
        json_html=safe_html.json_html,
        artifact_kind=safe_html.kind_of,
    )
    return env


ENV = _environment()


# --- responses -----------------------------------------------------------------------


def deck_of(request: Request) -> Deck:
    deck: Deck = request.app.state.deck
    return deck


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json"


def simulator_in_use(deck: Deck) -> bool:
    """True when the offline simulator answers the agents (no provider key, or forced)."""
    return deck.llm.offline


def _simulator_note(deck: Deck) -> str:
    """The LLM status sentence for the banner: 'No provider key found, so ...'."""
    text = deck.llm.status().removeprefix("LLM: ")
    return text[:1].upper() + text[1:]


def _finish(request: Request, response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    sessions.save_if_new(request, response)
    return response


def render_html(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A template inside the layout, with what every page shows (nav, banner, CSRF token)."""
    deck = deck_of(request)
    current = sessions.session_of(request)
    values = {
        "request": request,
        "now": deck.clock.now(),
        "csrf_token": current.csrf,
        "token_required": sessions.token_required(request),
        "signed_in": sessions.is_signed_in(request),
        "simulated": simulator_in_use(deck),
        "simulator_note": _simulator_note(deck),
        "json_url": _json_url(request),
        "page_key": "",
        "budget_alerts": getattr(request.state, "budget_alerts", []),
        **context,
    }
    html = ENV.get_template(template).render(values)
    response = _finish(request, HTMLResponse(html, status_code=status))
    assert isinstance(response, HTMLResponse)
    return response


def fragment(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    """A part of a page, swapped in by live.js; rendered with the same templates."""
    values = {"request": request, "now": deck_of(request).clock.now(), **context}
    values.setdefault("csrf_token", sessions.session_of(request).csrf)
    html = ENV.get_template(template).render(values)
    response = HTMLResponse(html, headers=SECURITY_HEADERS)
    return response


def page(
    request: Request,
    template: str,
    data: BaseModel,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The page, or with `?format=json` its JSON twin: `data`, as the API would send it."""
    if wants_json(request):
        body = data.model_dump(mode="json")
        return _finish(request, JSONResponse(body, status_code=status))
    return render_html(request, template, {"data": data, **(context or {})}, status)


def redirect(request: Request, url: str) -> Response:
    """303 See Other: after a form's POST, the browser GETs the page the action leads to."""
    return _finish(request, RedirectResponse(url, status_code=303))


def _json_url(request: Request) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    query.append(("format", "json"))
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query)


# --- errors as pages ---------------------------------------------------------------------


def error_page(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if wants_json(request):
        return _finish(request, errors.error_response(status, message, field))
    titles = {401: "Sign in needed", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    title = titles.get(status, "Something went wrong")
    context = {"status": status, "title": title, "message": message}
    return render_html(request, "error.html", context, status)


def status_of(error: AgentdeckError) -> int:
    return next((code for kind, code in errors.STATUS_OF if isinstance(error, kind)), 400)


class PageRoute(APIRoute):
    """A page route: errors become pages; signing in and CSRF failures are answered here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                if not wants_json(request):
                    # read before the page renders (rendering is not async): the banner
                    # of builds over a budget threshold, on every page
                    builds = deck_of(request).builds
                    request.state.budget_alerts = await builds.budget_alerts()
                return await handler(request)
            except sessions.SignInRequired:
                if wants_json(request):
                    return error_page(request, 401, "sign in first: POST /login, or send the token")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = "/"  # a form's action cannot be replayed by a GET after signing in
                return redirect(request, f"/login?next={quote(target, safe='')}")
            except sessions.CsrfRejected as error:
                return error_page(request, 403, str(error))
            except AgentdeckError as error:
                field = getattr(error, "field", None)
                return error_page(request, status_of(error), str(error), field)
            except RequestValidationError as error:
                problems = list(error.errors())
                first = problems[0] if problems else {}
                field = errors.field_name(first.get("loc", ()))
                detail = str(first.get("msg", "is invalid"))
                return error_page(request, 422, f"{field}: {detail}" if field else detail, field)
            except StarletteHTTPException as error:
                return error_page(request, error.status_code, str(error.detail))

        return route
