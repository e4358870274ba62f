"""The API token: a Bearer check on every request, and the rule that guards public binds.

On a loopback address the API may run without a token; bound to any other address it
must have one (AGENTDECK_TOKEN), and then every request, live streams included, sends
`Authorization: Bearer <token>` — or, for reads only (GET), the session cookie of a
browser signed in to the dashboard (EventSource cannot send headers).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        throttle.failed(client)
        raise Unauthorized()
    throttle.succeeded(client)


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
