"""The API token: a Bearer check on every request, and the rule that guards public binds.

On a loopback address the API may run without a token; bound to any other address it
must have one (AGENTDECK_TOKEN), and then every request, live streams included, sends
`Authorization: Bearer <token>` — or, for reads only (GET), the session cookie of a
browser signed in to the dashboard (EventSource cannot send headers).

Besides the admin token, scoped tokens (deck/api_tokens.py) may be sent: a `read` token
passes every GET, a `start:<workflow>` token only POST /api/runs of that workflow; any
other request with one is refused with 403 and says why. Only the admin manages tokens.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentdeck.domain.api_tokens import PREFIX, ApiToken
from agentdeck.settings import Settings
from agentdeck.web.errors import Unauthorized
from agentdeck.web.sessions import signed_in_by_cookie

bearer = HTTPBearer(
    auto_error=False,
    description="The server's AGENTDECK_TOKEN; needed only when one is set.",
)


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> None:
    """Let the request through if no token is set, or if it carries the right one."""
    expected = request.app.state.deck.settings.token
    if expected is None:
        return
    if credentials is None and await signed_in_by_cookie(request):
        return
    given = credentials.credentials if credentials is not None else ""
    if not given:
        raise Unauthorized()
    throttle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    throttle.check(client)  # a client that guessed too often waits, right token or not
    # constant time: the comparison must not tell how many leading characters matched
    if hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        throttle.succeeded(client)
        return
    scoped = (
        await request.app.state.deck.api_tokens.check(given) if given.startswith(PREFIX) else None
    )
    if scoped is None:
        throttle.failed(client)
        raise Unauthorized()
    throttle.succeeded(client)
    await _within_scope(request, scoped)


READS = ("GET", "HEAD")


async def _within_scope(request: Request, token: ApiToken) -> None:
    """403 unless the scoped token's scopes allow this request."""
    path = request.url.path
    if path == "/api/tokens" or path.startswith("/api/tokens/"):
        raise HTTPException(
            403, f"token {token.name!r} is scoped: only the admin token manages tokens"
        )
    if request.method in READS:
        if token.can_read:
            return
        raise HTTPException(
            403, f"token {token.name!r} cannot read: its scopes are {_scopes(token)}"
        )
    if request.method == "POST" and path == "/api/runs" and token.workflows:
        workflow = _workflow_of(await request.body())
        if workflow is not None and token.can_start(workflow):
            return
        allowed = ", ".join(token.workflows)
        raise HTTPException(
            403, f"token {token.name!r} may start runs of {allowed} only, not {workflow!r}"
        )
    raise HTTPException(
        403,
        f"token {token.name!r} cannot {request.method} {path}: its scopes are {_scopes(token)} "
        "(`read` allows GET only; `start:<workflow>` allows POST /api/runs of that workflow)",
    )


def _scopes(token: ApiToken) -> str:
    return " ".join(token.scopes)


def _workflow_of(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    workflow = parsed.get("workflow") if isinstance(parsed, dict) else None
    return workflow if isinstance(workflow, str) else None


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1; any other name or address is public."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, settings: Settings) -> str | None:
    """Why serving on `host` must not start, or None when it may."""
    if is_loopback(host) or settings.token is not None:
        return None
    return (
        f"refusing to serve on {host} without a token: anyone who reaches that address could "
        "read, start and cancel runs. Set AGENTDECK_TOKEN to a long random secret (clients "
        "then send `Authorization: Bearer <token>`), or bind to 127.0.0.1."
    )
