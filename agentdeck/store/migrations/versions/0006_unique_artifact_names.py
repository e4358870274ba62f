"""one artifact per name and run

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Runs replayed before this key existed may hold a name twice: keep the first.
    op.execute(
        sa.text(
            "DELETE FROM artifacts WHERE id NOT IN "
            "(SELECT min(id) FROM artifacts GROUP BY run_id, name)"
        )
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_artifacts_run_id_name", ["run_id", "name"])


def downgrade() -> None:
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_artifacts_run_id_name", type_="unique")
