"""The edge: what every request passes before the app sees it.

In this order, each answered with the API's JSON error and nothing read past it:
1. `Host` must name this server (421 otherwise): with no token on loopback, a web page
   on another site could otherwise reach the API through DNS rebinding.
2. A request with a body must be authenticated before its body is read (401): the
   admin token, an active scoped API token (its scopes are checked by the route), a
   signed-in dashboard session (forms), or an external agent's token on the report route
   (checked in full by the route). Unauthenticated bodies cost nothing.
3. The body must fit its limit (413), said by Content-Length before reading, or counted
   while reading a chunked body, and must arrive within body_read_timeout (408).
4. A JSON body for the API must follow domain/json_values.py (422, naming the field).
Then the app receives the body, already read, as if from the client.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
import socket
from collections.abc import Iterable

from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.domain import api_tokens, json_values
from agentdeck.settings import Settings
from agentdeck.web import sessions
from agentdeck.web.login_throttle import LoginThrottle, TooManyAttempts

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
LOGIN_BODY_BYTES = 16_384  # the sign-in form: a token and where to go next
# external agents report here with their own token, artifacts included
AGENT_REPORT = re.compile(r"^/api/tasks/[^/]+/events$")


def host_name(value: str) -> str:
    """`Host` without its port, lower case: "[::1]:8000" -> "::1", "A.example." -> "a.example"."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostRule:
    """Which `Host` values this server answers to."""

    def __init__(self, bound_host: str, extra: Iterable[str]) -> None:
        bound = host_name(bound_host)
        self.any = "*" in extra
        self.names = {*LOOPBACK_NAMES, bound, *(host_name(h) for h in extra if h != "*")}
        # bound to every interface: any address of the machine is its own, and so is its
        # name; a rebinding attack needs a name the attacker controls, never an address
        self.any_address = bound in WILDCARDS
        if self.any_address:
            self.names.add(socket.gethostname().lower())

    def allows(self, header: str | None) -> bool:
        if self.any or header is None:  # no Host at all: HTTP/1.0, not a browser
            return True
        name = host_name(header)
        return name in self.names or (self.any_address and _is_ip(name))


CLOSE = {"Connection": "close"}  # the unread rest of the body must not be taken as a request


def _error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


class Edge:
    """Pure ASGI middleware: the checks above, then the app with the body already read."""

    def __init__(
        self, app: ASGIApp, settings: Settings, bound_host: str, throttle: LoginThrottle
    ) -> None:
        self.app = app
        self.throttle = throttle
        self.settings = settings
        self.hosts = HostRule(bound_host, settings.allowed_hosts)
        token = settings.token.get_secret_value() if settings.token is not None else None
        self.token = token
        self.cookie_key = sessions.key_of_token(token) if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not self.hosts.allows(headers.get("host")):
            name = headers.get("host", "")[:100]
            refusal = _error(
                421,
                f"this server does not answer to the host name {name!r}: open it at the "
                "address it was started on, or add the name to AGENTDECK_ALLOWED_HOSTS",
                "host",
            )
            if scope["type"] == "http":
                await refusal(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http" or not _has_body(headers):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        unauthenticated = await self._unauthenticated(scope, path, headers)
        if unauthenticated is not None:
            await unauthenticated(scope, receive, send)
            return
        limit = self._limit(path)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.settings.body_read_timeout.total_seconds()):
                body = await _read_body(receive, limit)
        except BodyTooLarge:
            await _too_large(limit)(scope, receive, send)
            return
        except TimeoutError:
            seconds = self.settings.body_read_timeout.total_seconds()
            refusal = _error(
                408,
                f"the request body did not arrive within {seconds:g} s",
                "body",
                CLOSE,
            )
            await refusal(scope, receive, send)
            return
        if body is None:
            return  # the client went away while sending
        if path.startswith("/api/") and _is_json(headers.get("content-type", "")):
            try:
                json_values.parse(body)
            except json_values.JsonRefused as error:
                await _error(422, str(error), error.field)(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    def _limit(self, path: str) -> int:
        if path == "/login":
            return LOGIN_BODY_BYTES
        if AGENT_REPORT.match(path):
            return self.settings.max_artifact_body_bytes
        return self.settings.max_body_bytes

    async def _unauthenticated(
        self, scope: Scope, path: str, headers: dict[str, str]
    ) -> Response | None:
        """A refusal when nothing in the headers could authenticate this body, else None."""
        client = _client(scope)
        scheme, _, given = headers.get("authorization", "").partition(" ")
        bearer = given.strip() if scheme.lower() == "bearer" else ""
        if AGENT_REPORT.match(path):
            # the route checks the agent's token against its hash; here only that one is sent
            if bearer:
                return None
            return _error(
                401,
                "an external agent reports with its own token: send "
                "`Authorization: Bearer <the agent's token>`",
                headers={"WWW-Authenticate": "Bearer", **CLOSE},
            )
        if self.token is None or path == "/login":
            return None
        if bearer:
            try:
                self.throttle.check(client)
            except TooManyAttempts as error:
                return _error(429, str(error), headers={"Retry-After": f"{error.retry_after:.0f}"})
            if hmac.compare_digest(bearer.encode(), self.token.encode()) or (
                await _scoped_token(scope, bearer)
            ):
                # a scoped token's scopes are checked by the route (web/auth.py)
                self.throttle.succeeded(client)
                return None
            self.throttle.failed(client)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return _error(
                401,
                "this server needs its API token: send `Authorization: Bearer <AGENTDECK_TOKEN>`",
                headers={"WWW-Authenticate": "Bearer", **CLOSE},
            )
        if self._signed_in_cookie(headers.get("cookie", "")):
            return None
        # a dashboard form from a browser that is not signed in: to the sign-in page
        return RedirectResponse("/login", status_code=303, headers=CLOSE)

    def _signed_in_cookie(self, header: str) -> bool:
        raw = cookie_parser(header).get(sessions.COOKIE)
        if not raw or self.cookie_key is None:
            return False
        found = sessions.decode(raw, self.cookie_key)
        return found is not None and found.signed_in


async def _scoped_token(scope: Scope, bearer: str) -> bool:
    """True if `bearer` is an active scoped API token of this deck."""
    if not bearer.startswith(api_tokens.PREFIX):
        return False
    found = await scope["app"].state.deck.api_tokens.check(bearer)
    return found is not None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _headers(scope: Scope) -> dict[str, str]:
    """The headers that matter here, decoded; the first of each name wins."""
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _has_body(headers: dict[str, str]) -> bool:
    """Chunked, or a Content-Length other than 0 (h11 refuses one that is not a number)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() != "0"


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("", "application/json") or kind.endswith("+json")


def _too_large(limit: int) -> Response:
    return _error(
        413,
        f"the request body is larger than the {limit:,} bytes this route accepts",
        "body",
        CLOSE,
    )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None if the client disconnected; BodyTooLarge past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The app's receive: the body once, then the client's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
