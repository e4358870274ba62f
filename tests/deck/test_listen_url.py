"""listen_database_url: the LISTEN connection may go elsewhere than the pooled connections."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy.engine import make_url

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.store.notify import libpq_url
from tests.conftest import fast_settings


async def _application_of(database_url: str, pid: int) -> str:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as conn:
        cursor = await conn.execute(
            "select application_name from pg_stat_activity where pid = %s", (pid,)
        )
        row = await cursor.fetchone()
    assert row is not None, f"no backend {pid}"
    return str(row[0])


@pytest.mark.parametrize("backend", ["postgres"])
async def test_listener_connects_with_listen_database_url_and_pool_with_database_url(
    database_url: str, registry: Registry
) -> None:
    listen_url = make_url(database_url).update_query_dict({"application_name": "ad-listen"})
    settings = fast_settings(
        database_url, listen_database_url=listen_url.render_as_string(hide_password=False)
    )
    async with Deck(settings, registry=registry, migrate=False) as deck:
        assert deck.listener is not None
        async with asyncio.timeout(10):
            await deck.listener.connected.wait()
        assert deck.listener.backend_pid is not None
        assert await _application_of(database_url, deck.listener.backend_pid) == "ad-listen"
        # the pooled connections keep database_url's own (default) application name
        pooled = await deck.db.read(
            lambda conn: conn.exec_driver_sql(
                "select current_setting('application_name')"
            ).scalar_one()
        )
        assert pooled != "ad-listen"
