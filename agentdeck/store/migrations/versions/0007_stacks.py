"""stacks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stack_controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stack_controls")),
    )
    op.create_table(
        "stacks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("idea", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("budget_usd", sa.Numeric(precision=18, scale=8), nullable=True),
        sa.Column("max_concurrent", sa.Integer(), server_default="4", nullable=False),
        sa.Column("scale", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("cycles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("idle_cycles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stalled_cycles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column(
            "broadcast_cursor",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "cost_usd", sa.Numeric(precision=18, scale=8), server_default="0", nullable=False
        ),
        sa.Column("next_cycle_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stacks")),
        sa.UniqueConstraint("name", name=op.f("uq_stacks_name")),
    )
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.create_index("ix_stacks_state", ["state"], unique=False)

    op.create_table(
        "stack_agents",
        sa.Column("stack_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="idle", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ran_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("memory", sa.Text(), server_default="", nullable=False),
        sa.Column("summaries", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_agents_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stack_id", "role", name=op.f("pk_stack_agents")),
    )
    op.create_table(
        "stack_artifacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("stack_id", sa.String(length=40), nullable=False),
        sa.Column("todo_id", sa.String(length=40), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_artifacts_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stack_artifacts")),
    )
    with op.batch_alter_table("stack_artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_stack_artifacts_stack_id", ["stack_id"], unique=False)

    op.create_table(
        "stack_cycles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stack_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "work",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "graph",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("delay_s", sa.Float(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "cost_usd", sa.Numeric(precision=18, scale=8), server_default="0", nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_cycles_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stack_cycles")),
        sa.UniqueConstraint("stack_id", "number", name="uq_stack_cycles_stack_id_number"),
    )
    op.create_table(
        "stack_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("stack_id", sa.String(length=40), nullable=True),
        sa.Column("from_stack_id", sa.String(length=40), nullable=True),
        sa.Column("from_role", sa.String(length=20), nullable=False),
        sa.Column("to_role", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_messages_from_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_messages_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stack_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_stack_messages_key")),
    )
    with op.batch_alter_table("stack_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stack_messages_broadcasts",
            ["id"],
            unique=False,
            postgresql_where=sa.text("kind = 'broadcast'"),
            sqlite_where=sa.text("kind = 'broadcast'"),
        )
        batch_op.create_index(
            "ix_stack_messages_stack_id_to_role", ["stack_id", "to_role"], unique=False
        )

    op.create_table(
        "stack_todos",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("stack_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_role", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("done_cycle", sa.Integer(), nullable=True),
        sa.Column("reviewed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("artifact_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_todos_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stack_todos")),
    )
    with op.batch_alter_table("stack_todos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stack_todos_stack_id_status", ["stack_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stack_todos", schema=None) as batch_op:
        batch_op.drop_index("ix_stack_todos_stack_id_status")

    op.drop_table("stack_todos")
    with op.batch_alter_table("stack_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_stack_messages_stack_id_to_role")
        batch_op.drop_index(
            "ix_stack_messages_broadcasts",
            postgresql_where=sa.text("kind = 'broadcast'"),
            sqlite_where=sa.text("kind = 'broadcast'"),
        )

    op.drop_table("stack_messages")
    op.drop_table("stack_cycles")
    with op.batch_alter_table("stack_artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_stack_artifacts_stack_id")

    op.drop_table("stack_artifacts")
    op.drop_table("stack_agents")
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.drop_index("ix_stacks_state")

    op.drop_table("stacks")
    op.drop_table("stack_controls")
