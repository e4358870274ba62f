"""A fresh, empty database per repetition: a SQLite file in a temp dir, or a new PostgreSQL db."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agentdeck.settings import Settings

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
KINDS = ("sqlite", "postgres")
# SQLite is measured at the product's default and at the peers' durability (FULL)
SQLITE_SYNCHRONOUS = ("default", "FULL")
SYNCHRONOUS_ENV = "AGENTDECK_SQLITE_SYNCHRONOUS"


def postgres_admin_url() -> str:
    """The server to create bench databases on (AGENTDECK_BENCH_POSTGRES_URL)."""
    return os.environ.get("AGENTDECK_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@contextmanager
def sqlite_synchronous(value: str) -> Iterator[None]:
    """Run SQLite at `value` ("default": the product's setting) for what runs inside.

    Set as the AGENTDECK_SQLITE_SYNCHRONOUS setting, so every Deck the workload opens
    and every worker or server process it starts runs at the same durability.
    """
    before = os.environ.get(SYNCHRONOUS_ENV)
    if value == "default":
        os.environ.pop(SYNCHRONOUS_ENV, None)
    else:
        os.environ[SYNCHRONOUS_ENV] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SYNCHRONOUS_ENV, None)
        else:
            os.environ[SYNCHRONOUS_ENV] = before


def durability(kind: str) -> str:
    """What a commit survives at the settings in force, for a result line."""
    if kind == "sqlite":
        value = Settings().sqlite_synchronous.upper()
        default = Settings.model_fields["sqlite_synchronous"].default
        return f"synchronous={value}" + (" (default)" if value == default.upper() else "")
    return f"synchronous_commit={describe(kind)['synchronous_commit']}"


def describe(kind: str) -> dict[str, str]:
    """The database settings that shape the numbers, for a result's params."""
    if kind == "sqlite":
        return {"sqlite_synchronous": Settings().sqlite_synchronous.upper()}
    libpq = make_url(postgres_admin_url()).set(drivername="postgresql")
    with psycopg.connect(libpq.render_as_string(hide_password=False)) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        commit = conn.execute("SHOW synchronous_commit").fetchone()
    return {
        "postgres_version": str(version[0] if version else "?"),
        "synchronous_commit": str(commit[0] if commit else "?"),
    }


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """Yield the URL of a new, empty database of `kind`; remove it afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
    elif kind == "postgres":
        with _postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}; use one of {', '.join(KINDS)}")


@contextmanager
def _postgres_database() -> Iterator[str]:
    admin = make_url(postgres_admin_url()).set(drivername="postgresql")
    name = f"bench_{secrets.token_hex(6)}"
    admin_libpq = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
