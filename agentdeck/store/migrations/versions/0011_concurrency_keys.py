"""concurrency keys: runs sharing a key never exceed its limit running at once

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("concurrency_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("concurrency_limit", sa.Integer(), nullable=True))
    op.create_index(
        "ix_runs_keyed_claim_order",
        "runs",
        [sa.literal_column("priority DESC"), "due_at", "created_at", "id"],
        postgresql_where=sa.text("status = 'queued' AND concurrency_key IS NOT NULL"),
        sqlite_where=sa.text("status = 'queued' AND concurrency_key IS NOT NULL"),
    )
    op.create_index(
        "ix_runs_running_key",
        "runs",
        ["concurrency_key"],
        postgresql_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
        sqlite_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_runs_running_key", table_name="runs")
    op.drop_index("ix_runs_keyed_claim_order", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("concurrency_limit")
        batch.drop_column("concurrency_key")
