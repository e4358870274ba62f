"""Wrong tokens, counted per client: after login_attempts of them, the client waits (429).

Both the sign-in form and the API's Bearer check count here. A client is its address as
the server sees it (behind a reverse proxy, every client is the proxy: keep the proxy's
own limits then). While a client waits, even the right token is refused, or guessing
would simply go on. The table is bounded, so a flood of addresses cannot grow it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_CLIENTS = 10_000
MIN_TOKEN_CHARS = 32


class TooManyAttempts(Exception):
    """The client sent too many wrong tokens; `retry_after` seconds to wait (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            f"too many wrong tokens from this address: wait {retry_after:.0f} s and try again"
        )
        self.retry_after = retry_after


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts wrong tokens per client and refuses a client for `lockout_s` past the limit."""

    def __init__(
        self, attempts: int, lockout_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.lockout_s = lockout_s
        self.now = now  # a test may turn the clock
        self._clients: OrderedDict[str, _Record] = OrderedDict()

    def check(self, client: str) -> None:
        """Raise TooManyAttempts while `client` must wait."""
        record = self._clients.get(client)
        if record is None:
            return
        wait = record.locked_until - self.now()
        if wait > 0:
            raise TooManyAttempts(max(wait, 1))

    def failed(self, client: str) -> None:
        """One more wrong token; the last one allowed starts the wait."""
        record = self._clients.pop(client, None) or _Record()
        if record.locked_until and record.locked_until <= self.now():
            record = _Record()  # the wait is over: a fresh count
        record.failures += 1
        if record.failures >= self.attempts:
            record.locked_until = self.now() + self.lockout_s
        self._clients[client] = record
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


def token_refusal(token: str | None) -> str | None:
    """Why the server must not start with this token, or None when it may."""
    if token is None or len(token) >= MIN_TOKEN_CHARS:
        return None
    return (
        f"AGENTDECK_TOKEN is {len(token)} characters; use at least {MIN_TOKEN_CHARS} random "
        "ones, so that it cannot be guessed, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    )
