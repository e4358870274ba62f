"""A running agentdeck over HTTP: the API calls and the live stream the CLI uses with --server.

Runs come back as the API's JSON (RunOut). The token, if any, is sent as
`Authorization: Bearer <token>`; an error answer becomes a RemoteError carrying the
API's own message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import httpx

from agentdeck.domain.errors import AgentdeckError

RECONNECT_DELAY = 0.5


class RemoteError(AgentdeckError):
    """The server refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RemoteDeck:
    """The API of the agentdeck at `server`, as the CLI needs it."""

    def __init__(self, server: str, token: str | None = None, timeout: float = 30) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=self.server, headers=headers, timeout=httpx.Timeout(timeout)
        )

    async def __aenter__(self) -> RemoteDeck:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()

    # --- runs ------------------------------------------------------------------

    async def submit(
        self, workflow: str, inputs: dict[str, Any], priority: int = 0, **options: Any
    ) -> dict[str, Any]:
        """`options`: more fields of POST /api/runs, e.g. concurrency_key."""
        body = {"workflow": workflow, "inputs": inputs, "priority": priority, **options}
        return await self._json("POST", "/api/runs", json=body)  # type: ignore[no-any-return]

    async def get(self, run_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/api/runs/{run_id}")  # type: ignore[no-any-return]

    async def list_runs(
        self, statuses: tuple[str, ...] = (), workflow: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        params: list[tuple[str, str | int]] = [("limit", limit)]
        params += [("status", s) for s in statuses]
        if workflow:
            params.append(("workflow", workflow))
        page = await self._json("GET", "/api/runs", params=params)
        return list(page["items"])

    async def cancel(self, run_id: str) -> dict[str, Any]:
        return await self._json("POST", f"/api/runs/{run_id}/cancel")  # type: ignore[no-any-return]

    async def retry(self, run_id: str) -> dict[str, Any]:
        return await self._json("POST", f"/api/runs/{run_id}/retry")  # type: ignore[no-any-return]

    async def rerun(self, run_id: str, from_step: str) -> dict[str, Any]:
        path = f"/api/runs/{run_id}/rerun"
        return await self._json("POST", path, json={"from_step": from_step})  # type: ignore[no-any-return]

    async def pause(self, run_id: str) -> dict[str, Any]:
        return await self._json("POST", f"/api/runs/{run_id}/pause")  # type: ignore[no-any-return]

    async def resume(self, run_id: str) -> dict[str, Any]:
        return await self._json("POST", f"/api/runs/{run_id}/resume")  # type: ignore[no-any-return]

    async def all_events(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Every event of the run after `after`, page by page."""
        out: list[dict[str, Any]] = []
        while page := await self.events_after(run_id, after):
            out += page
            after = int(page[-1]["id"])
        return out

    async def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return list(await self._json("GET", f"/api/runs/{run_id}/artifacts"))

    async def artifact_content(self, artifact_id: str) -> str:
        try:
            response = await self._client.get(f"/api/artifacts/{artifact_id}")
        except httpx.TransportError as error:
            raise RemoteError(f"cannot reach {self.server}: {error}") from None
        if response.status_code >= 400:
            raise _error(response)
        return response.text

    async def tasks(self, run_id: str) -> dict[str, Any]:
        """A plan run's tasks with counts and progress (TasksOut)."""
        return await self._json("GET", f"/api/runs/{run_id}/tasks")  # type: ignore[no-any-return]

    async def workflows(self) -> list[dict[str, Any]]:
        """The server's workflows, each with its input schema."""
        found = await self._json("GET", "/api/workflows")
        return list(found["items"] if isinstance(found, dict) else found)

    async def events_after(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The run's events with an id above `after` (one page)."""
        page = await self._json("GET", f"/api/runs/{run_id}/events", params={"after": after})
        return list(page["items"] if isinstance(page, dict) else page)

    # --- the live stream -------------------------------------------------------------

    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """The run's events as they happen (SSE), from after `after`; reconnects on a drop.

        Each reconnection sends Last-Event-ID, so no event is missed or repeated. Runs
        until the caller stops iterating.
        """
        last = after
        while True:
            headers = {"Last-Event-ID": str(last)} if last else {}
            try:
                async with self._client.stream(
                    "GET",
                    f"/api/runs/{run_id}/stream",
                    headers=headers,
                    timeout=httpx.Timeout(10, read=None),
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise _error(response)
                    async for event in _sse_events(response):
                        last = max(last, int(event.get("id") or last))
                        yield event
            except (httpx.TransportError, httpx.StreamError):
                pass  # dropped: resume from the last event seen
            await asyncio.sleep(RECONNECT_DELAY)

    # --- plumbing ----------------------------------------------------------------------

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise RemoteError(f"cannot reach {self.server}: {error}") from None
        if response.status_code >= 400:
            raise _error(response)
        return response.json()


def _error(response: httpx.Response) -> RemoteError:
    """The API's error message (`{"error": {"message", "field"}}`), else the HTTP status."""
    message = f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        field = f" ({error['field']})" if error.get("field") else ""
        message = f"{error.get('message', message)}{field}"
    elif isinstance(body, dict) and "detail" in body:
        message = f"{message}: {body['detail']}"
    if response.status_code == 401:
        message += " — set AGENTDECK_TOKEN to the server's token"
    return RemoteError(message, response.status_code)


async def _sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream into events: the JSON of `data`, with the SSE `id`."""
    current: dict[str, str] = {}
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                try:
                    event = json.loads("\n".join(data))
                except ValueError:
                    event = {"message": "\n".join(data)}
                if not isinstance(event, dict):
                    event = {"data": event}
                event.setdefault("id", current.get("id"))
                event.setdefault("kind", current.get("event"))
                yield event
            current, data = {}, []
            continue
        if line.startswith(":"):
            continue  # a comment: the server's keep-alive ping
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name in ("id", "event"):
            current[name] = value
