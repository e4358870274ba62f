"""Wake-ups: an in-process hub, fed across processes by PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from agentdeck.domain.topics import Listener, Topic
from agentdeck.store.notify import ListenConnection, parse_payload, payload

log = logging.getLogger(__name__)


class Notifier:
    """Fans wake-ups out to listeners in this process; calls are synchronous and cheap."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, topic: Topic, run_id: str | None = None) -> None:
        for listener in list(self._listeners):
            listener(topic, run_id)


class PgListener:
    """Keeps a LISTEN connection open and republishes what arrives on the local Notifier.

    When the connection dies it reconnects with backoff, and publishes READY on
    every (re)connect because notifications sent while it was down are lost;
    the workers' polling safety net covers the gap in between.
    """

    def __init__(self, url: str, notifier: Notifier) -> None:
        self._url = url
        self._notifier = notifier
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.backend_pid: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agentdeck-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.05
        while True:
            conn = ListenConnection(self._url)
            try:
                self.backend_pid = await conn.open()
                self.connected.set()
                delay = 0.05
                self._notifier.publish(Topic.READY)
                async for text in conn.payloads():
                    try:
                        topic, run_id = parse_payload(text)
                    except ValueError:
                        continue
                    self._notifier.publish(topic, run_id)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a broken connection: reconnect
                log.warning("LISTEN connection lost (%s); reconnecting", type(error).__name__)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


__all__ = ["Listener", "Notifier", "PgListener", "Topic", "parse_payload", "payload"]
