"""Alembic environment: one linear history for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from agentdeck.store.schema import metadata

# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 0x61676D67

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    # Processes started together all migrate on start: one at a time, each in a
    # transaction that begins with the lock, so the later ones see the schema the
    # first one committed and have nothing left to do. SQLite: BEGIN IMMEDIATE takes
    # the database's one write lock (the Database's `begin` listener emits it).
    connection = connection.execution_options(sqlite_begin="IMMEDIATE")
    with connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        context.run_migrations()
