"""Dashboard sessions: a signed cookie and the CSRF check of every form.

The session cookie holds a random CSRF token and whether the browser signed in, signed
with HMAC-SHA256. Its key is derived from AGENTDECK_TOKEN when one is set (so every API
process accepts the sessions of the others), else it is random per process. Every form
carries the session's CSRF token in a hidden field and every POST is refused (403) unless
the field matches the cookie's token; a POST the browser marks as cross-site is refused
too. With no token set (loopback) every browser is signed in, but forms are still
protected: another site cannot make the browser cancel a run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request, Response

COOKIE = "agentdeck_session"
MAX_AGE_S = 7 * 24 * 3600
MAX_FORM_BYTES = 1_000_000
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SignInRequired(Exception):
    """The page needs a signed-in session (AGENTDECK_TOKEN is set)."""


class CsrfRejected(Exception):
    """A form came without this session's CSRF token, or from another site (HTTP 403)."""


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    signed_in: bool
    issued_at: int

    @classmethod
    def new(cls, signed_in: bool = False) -> Session:
        return cls(
            secrets.token_urlsafe(16), secrets.token_urlsafe(24), signed_in, int(time.time())
        )


def key_of_token(token: str) -> bytes:
    """The cookies' signing key when AGENTDECK_TOKEN is set: the same in every process."""
    return hmac.new(token.encode(), b"agentdeck dashboard session v1", hashlib.sha256).digest()


def _key(request: Request) -> bytes:
    token = request.app.state.deck.settings.token
    if token is not None:
        return key_of_token(token.get_secret_value())
    key: bytes | None = getattr(request.app.state, "session_key", None)
    if key is None:
        key = request.app.state.session_key = secrets.token_bytes(32)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: Session, key: bytes) -> str:
    payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def decode(value: str, key: bytes, now: float | None = None) -> Session | None:
    """The session a cookie holds, or None if it is forged, damaged or expired."""
    payload, _, signature = value.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        session = Session(**json.loads(_unb64(payload)))
    except (ValueError, TypeError):
        return None
    if (now or time.time()) - session.issued_at > MAX_AGE_S:
        return None
    return session


def token_required(request: Request) -> bool:
    return request.app.state.deck.settings.token is not None


def session_of(request: Request) -> Session:
    """The request's session; a new one (to be sent as a cookie) if it has none valid.

    Only the signature is checked here; load_session also asks the database whether a
    signed-in session was revoked, and every page that needs signing in calls it first.
    """
    current: Session | None = getattr(request.state, "session", None)
    if current is not None:
        return current
    raw = request.cookies.get(COOKIE)
    current = decode(raw, _key(request)) if raw else None
    if current is None:
        current = Session.new()
        request.state.session_is_new = True
    request.state.session = current
    return current


async def load_session(request: Request) -> Session:
    """The request's session, signed out if its sign-in was revoked (signed out elsewhere)."""
    current = session_of(request)
    if getattr(request.state, "session_checked", False):
        return current
    request.state.session_checked = True
    revoked = (
        current.signed_in
        and token_required(request)
        and not await request.app.state.deck.sessions.active(current.sid)
    )
    if revoked:
        current = request.state.session = Session.new()
        request.state.session_is_new = True
    return current


async def sign_in(request: Request, response: Response) -> None:
    """A new session (new id, new CSRF token), signed in here and recorded as active."""
    session = Session.new(signed_in=True)
    await request.app.state.deck.sessions.start(session.sid, timedelta(seconds=MAX_AGE_S))
    save(request, response, session)


async def sign_out(request: Request, response: Response) -> None:
    """Revoke the session for every server sharing the database; a new one replaces it."""
    current = session_of(request)
    if current.signed_in:
        await request.app.state.deck.sessions.revoke(current.sid)
    save(request, response, Session.new())


def is_signed_in(request: Request) -> bool:
    """No token needed, a signed-in session, or the API token as a Bearer header."""
    if not token_required(request) or session_of(request).signed_in:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = request.app.state.deck.settings.token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


async def signed_in_by_cookie(request: Request) -> bool:
    """For the API's token check: a browser signed in to the dashboard may read (GET only).

    Live streams need this: EventSource cannot send an Authorization header.
    """
    if request.method not in SAFE_METHODS:
        return False
    raw = request.cookies.get(COOKIE)
    found = decode(raw, _key(request)) if raw else None
    if found is None or not found.signed_in:
        return False
    active: bool = await request.app.state.deck.sessions.active(found.sid)
    return active


def save(request: Request, response: Response, session: Session) -> None:
    request.state.session = session
    request.state.session_is_new = False
    response.set_cookie(
        COOKIE,
        encode(session, _key(request)),
        max_age=MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def save_if_new(request: Request, response: Response) -> None:
    if getattr(request.state, "session_is_new", False):
        save(request, response, request.state.session)


async def require_sign_in(request: Request) -> None:
    """Dependency of every page: with a token set, a browser must sign in first."""
    await load_session(request)
    if not is_signed_in(request):
        raise SignInRequired()


Form = dict[str, list[str]]


async def read_form(request: Request) -> Form:
    """The urlencoded body of a form POST, after its CSRF check (403 if it fails)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", ""):
        raise CsrfRejected("forms are sent as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise CsrfRejected("the form is too large")
    try:
        form = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        raise CsrfRejected("the form could not be read") from None
    check_csrf(request, form)
    return form


def check_csrf(request: Request, form: Form) -> None:
    """The form's token must be the session's; a browser saying "cross-site" is refused too.

    (Origin is not compared with Host: a reverse proxy may rewrite Host.)
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRejected("the form was sent from another site")
    given = (form.get("csrf_token") or [""])[-1]
    expected = session_of(request).csrf
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRejected(
            "this form has expired or did not come from this dashboard: reload the page and "
            "try again"
        )


FormDep = Annotated[Form, Depends(read_form)]


def first(form: Form, name: str, default: str = "") -> str:
    values = form.get(name)
    return values[-1] if values else default


def local_path(target: str) -> str:
    """Only a path of this site: `next` must never send the browser elsewhere."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
