"""A scripted model provider on loopback, speaking OpenAI chat-completions and Anthropic messages.

The real provider SDKs (through pydantic-ai) talk to it over HTTP. Each model name has a
script of answers, consumed in order (the last one repeats): a 200 with text and usage,
an error status, a slow answer, or a malformed body. Error bodies echo the request's
credentials, as some providers do, so tests can prove a key never leaks from there.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Ok:
    text: str = "hello"
    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0


@dataclass(frozen=True)
class Called:
    """An answer that calls tool `name` with `arguments` (a JSON string), as structured
    output through an output tool arrives (OpenAI wire only)."""

    name: str
    arguments: str
    input_tokens: int = 11
    output_tokens: int = 7


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Ok = Ok()


@dataclass(frozen=True)
class Malformed:
    pass


Action = Ok | Called | Status | Slow | Malformed


@dataclass(frozen=True)
class Hit:
    wire: str  # "openai" or "anthropic"
    model: str
    body: dict[str, Any]
    credential: str | None  # the Authorization or x-api-key header it was sent


@dataclass
class ProviderServer:
    """Start with `start()`; `url` is its base; `hits` every request it received, in order."""

    scripts: dict[str, list[Action]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, model: str, *actions: Action) -> None:
        self.scripts[model] = list(actions)

    def count(self, model: str) -> int:
        return sum(1 for h in self.hits if h.model == model)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _next(self, model: str) -> Action:
        with self._lock:
            actions = self.scripts.get(model) or [Ok()]
            return actions.pop(0) if len(actions) > 1 else actions[0]

    def start(self) -> ProviderServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                wire = "anthropic" if self.path.endswith("/messages") else "openai"
                model = str(body.get("model"))
                credential = self.headers.get("authorization") or self.headers.get("x-api-key")
                with owner._lock:
                    owner.hits.append(Hit(wire, model, body, credential))
                action = owner._next(model)
                # a client that gave up (a timeout) gets nothing
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(action, wire, model)

            def _answer(self, action: Action, wire: str, model: str) -> None:
                if isinstance(action, Slow):
                    time.sleep(action.seconds)
                    action = action.then
                if isinstance(action, Malformed):
                    self._raw(200, b'{"id": "x", "choices": [')
                elif isinstance(action, Status):
                    self._json(action.code, self._error(action.code, wire))
                elif isinstance(action, Called):
                    self._json(200, _openai_called(model, action))
                elif wire == "anthropic":
                    self._json(200, _anthropic_ok(model, action))
                else:
                    self._json(200, _openai_ok(model, action))

            def _error(self, code: int, wire: str) -> dict[str, Any]:
                credential = self.headers.get("authorization") or self.headers.get("x-api-key")
                message = f"request failed with {code}; credential seen: {credential}"
                if wire == "anthropic":
                    return {"type": "error", "error": {"type": "api_error", "message": message}}
                return {"error": {"message": message, "type": "error", "code": f"e{code}"}}

            def _json(self, status: int, value: dict[str, Any]) -> None:
                self._raw(status, json.dumps(value).encode())

            def _raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _openai_ok(model: str, ok: Ok) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ok.text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": ok.input_tokens,
            "completion_tokens": ok.output_tokens,
            "total_tokens": ok.input_tokens + ok.output_tokens,
            "prompt_tokens_details": {"cached_tokens": ok.cached_tokens},
        },
    }


def _openai_called(model: str, called: Called) -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": called.name, "arguments": called.arguments},
    }
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": called.input_tokens,
            "completion_tokens": called.output_tokens,
            "total_tokens": called.input_tokens + called.output_tokens,
        },
    }


def _anthropic_ok(model: str, ok: Ok) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": ok.text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": ok.input_tokens - ok.cached_tokens,
            "output_tokens": ok.output_tokens,
            "cache_read_input_tokens": ok.cached_tokens,
        },
    }
