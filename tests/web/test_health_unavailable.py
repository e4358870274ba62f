"""/api/health answers 503, with its JSON body, while the database does not answer."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from agentdeck.deck import Deck
from tests.conftest import PG_ADMIN_URL


def _refuse_connections(database: str, refuse: bool) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        allow = "false" if refuse else "true"
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allow}')  # type: ignore[arg-type]
        if refuse:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


async def test_health_is_503_with_a_json_body_while_the_database_is_unreachable(
    backend: str, database_url: str, client: httpx.AsyncClient, deck: Deck
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite is a file in the process: it cannot be out of reach on its own")
    database = database_url.rsplit("/", 1)[1]
    assert (await client.get("/api/health")).status_code == 200
    _refuse_connections(database, True)
    try:
        down = await client.get("/api/health")
    finally:
        _refuse_connections(database, False)
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert body["database"]["error"] == "OperationalError"
    assert (await client.get("/api/health")).status_code == 200  # back as soon as it is
