"""The migrations build exactly `store/schema.py`: on both databases, Alembic's autogenerate
comparison of a migrated database with the schema finds nothing to change."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from agentdeck.store.database import Database
from agentdeck.store.schema import metadata


def test_migrated_database_matches_the_schema(database_url: str) -> None:
    url = Database(database_url).url  # the driver the Deck uses (psycopg 3 on PostgreSQL)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            differences: list[Any] = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
