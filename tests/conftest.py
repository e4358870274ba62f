"""Fixtures: a migrated database per test, on SQLite and on PostgreSQL.

Each database is copied from a template migrated once per session (a file copy
on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL): no create_all, and no
test sees another's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from agentdeck.store.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "AGENTDECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgres"]


def _pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and does not answer at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    name = f"agentdeck_tpl_{worker_id}_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
    _pg_admin(f'CREATE DATABASE "{name}"')
    engine = create_engine(_pg_url(name).replace("postgresql://", "postgresql+psycopg://"))
    upgrade(engine)
    engine.dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id() -> str:
    """xdist's worker id when running in parallel, else 'main'."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "agentdeck.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"agentdeck_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fast_settings(database_url: str, **overrides: object) -> Settings:
    """Settings with every interval shortened for tests."""
    values: dict[str, object] = {
        "database_url": database_url,
        "lease_interval": timedelta(seconds=2),
        "heartbeat_interval": timedelta(milliseconds=200),
        "rescue_interval": timedelta(milliseconds=200),
        "poll_interval": timedelta(milliseconds=500),
        "worker_lost_after": timedelta(seconds=3),
        "shutdown_grace": timedelta(seconds=5),
        # the host names of the in-process test clients (httpx, starlette TestClient)
        "allowed_hosts": ["agentdeck.test", "testserver"],
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> Registry:
    """An empty registry; tests register the workflows they need."""
    return Registry()


@pytest.fixture
async def deck(database_url: str, registry: Registry) -> AsyncIterator[Deck]:
    """A started Deck on a fresh database (migrations are already applied)."""
    deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
    await deck.start()
    try:
        yield deck
    finally:
        await deck.close()
