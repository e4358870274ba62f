"""The sign-in page and signing out (the session cookie itself is web/sessions.py)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from agentdeck.web.login_throttle import TooManyAttempts
from agentdeck.web.pages.templating import PageRoute, redirect, render_html
from agentdeck.web.sessions import (
    FormDep,
    first,
    is_signed_in,
    load_session,
    local_path,
    sign_in,
    sign_out,
    token_required,
)

router = APIRouter(tags=["dashboard"], include_in_schema=False, route_class=PageRoute)


def _login_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    context = {"next_url": next_url, "error": error, "page_key": "login"}
    return render_html(request, "login.html", context, status)


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form; a browser already signed in goes on to `next`."""
    await load_session(request)
    if is_signed_in(request):
        return redirect(request, local_path(next))
    return _login_page(request, local_path(next), None, 200)


@router.post("/login")
async def login(request: Request, form: FormDep) -> Response:
    """Check the token; on success a new session (new id, new CSRF token) is signed in."""
    next_url = local_path(first(form, "next", "/"))
    token = request.app.state.deck.settings.token
    if token is None:
        return redirect(request, next_url)
    given = first(form, "token").strip()
    throttle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    try:
        throttle.check(client)
    except TooManyAttempts as error:
        return _login_page(request, next_url, f"{str(error)[:1].upper()}{str(error)[1:]}.", 429)
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        throttle.failed(client)
        return _login_page(request, next_url, "That is not this server's token.", 401)
    throttle.succeeded(client)
    response = redirect(request, next_url)
    await sign_in(request, response)
    return response


@router.post("/logout")
async def logout(request: Request, form: FormDep) -> Response:
    """Revoke the session (on every server of this database); a signed-out one replaces it."""
    response = redirect(request, "/login" if token_required(request) else "/")
    await sign_out(request, response)
    return response
