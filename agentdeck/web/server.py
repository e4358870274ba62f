"""The HTTP server: uvicorn with h11, guarded against clients that hold connections open.

Two rules, applied per connection before the app sees a request:
- a request's head (request line and headers) must arrive within header_timeout, on a
  new connection and between keep-alive requests; otherwise 408 and the connection
  closes. A connection that never finishes its headers no longer holds a file forever.
- at most max_connections are open at once. One more closes the connection that has
  waited longest for a head; if none is waiting (all are requests in progress or live
  streams) the newcomer is answered 503 at once and closed. The server keeps file
  descriptors for the clients it serves (and its database) instead of failing to accept
  anything when the process's limit is reached.

Live streams are exempt by design: their head arrives at once, and once a response has
started no timer of this module runs on the connection; they count towards the cap.
Bodies are timed by the edge (web/edge.py), which knows which routes take one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from agentdeck.settings import Settings

log = logging.getLogger(__name__)


def _raw_response(status: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 response that closes the connection, with the API's error body."""
    body = json.dumps({"error": {"message": message, "field": None}}).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request heads and a connection cap."""

    header_timeout: float = 10.0
    max_connections: int = 800
    last_warning_at: float = 0.0  # of this server's class: a flood is logged once a second

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # at the cap, the connection that has waited longest for a head makes room:
            # a flood of silent connections cannot lock out clients that send requests
            waiting = self._longest_waiting()
            if waiting is None:  # every connection is a request in progress, or a stream
                self._warn_refusal()
                message = "the server is at its connection limit; try again in a moment"
                refusal = _raw_response("503 Service Unavailable", message, "retry-after: 1\r\n")
                transport.write(refusal)
                transport.close()
                return
            waiting._head_too_slow()
        self._await_head()

    def _longest_waiting(self) -> GuardedH11Protocol | None:
        """The open connection that has waited longest for a request's head, if any."""
        candidates = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol)
            and c is not self
            and c._head_deadline is not None
            and not c.transport.is_closing()
        ]
        return min(candidates, key=lambda c: c._waiting_since, default=None)

    def _warn_refusal(self) -> None:
        now = time.monotonic()
        if now - self.last_warning_at >= 1:
            type(self).last_warning_at = now
            open_now = len(self.connections) - 1
            log.warning("refusing connections: %d are open (max_connections)", open_now)

    def _await_head(self) -> None:
        self._cancel_deadline()
        self._waiting_since = self.loop.time()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _cancel_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        """Close a connection whose head did not come (in time, or before room was needed)."""
        self._cancel_deadline()
        if self.transport.is_closing():
            return
        partial_head = bool(self.conn.trailing_data[0])
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE and partial_head:
            # part of a head came, and not the rest: say why the connection closes (an
            # idle connection is closed without a word, as keep-alive clients expect)
            message = (
                f"the request's headers did not arrive in time (at most {self.header_timeout:g} "
                "s, less when the server needs the connection for another client)"
            )
            self.transport.write(_raw_response("408 Request Timeout", message))
        self.transport.close()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:
            self._cancel_deadline()  # a whole head arrived: the request is the app's now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()  # the next request's head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)


def protocol_for(settings: Settings) -> type[GuardedH11Protocol]:
    """The protocol class with this server's limits (uvicorn builds one per connection)."""
    return type(
        "AgentdeckH11Protocol",
        (GuardedH11Protocol,),
        {
            "header_timeout": settings.header_timeout.total_seconds(),
            "max_connections": settings.max_connections,
        },
    )


def server_config(
    app: Any, host: str, port: int, settings: Settings, **options: Any
) -> uvicorn.Config:
    """uvicorn's configuration for `app` with the guards above."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_for(settings),
        timeout_keep_alive=max(1, int(settings.header_timeout.total_seconds())),
        log_level=options.pop("log_level", "warning"),
        **options,
    )
