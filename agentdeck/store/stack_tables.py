"""The stacks' tables: a stack, its agents, todos, messages, artifacts, cycles and the
deck-wide controls."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from agentdeck.store.metadata import metadata
from agentdeck.store.types import BigID, JSONDoc, UTCDateTime

# --- stacks: teams of role agents working in cycles ------------------------------------

# One row per stack; `run_id` is the run that executes its cycles (one run re-armed each
# cycle, so a stack's history is its cycles, not a run per cycle). `scale` caps its agent
# executions at once (NULL: only the global scale applies).
stacks = Table(
    "stacks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("idea", Text),
    Column("state", String(20), nullable=False),
    Column("reason", Text),
    Column("budget_usd", Numeric(18, 8)),
    Column("max_concurrent", Integer, nullable=False, server_default="4"),
    Column("scale", Integer),
    Column("run_id", String(40)),
    Column("cycles", Integer, nullable=False, server_default="0"),
    Column("idle_cycles", Integer, nullable=False, server_default="0"),
    Column("stalled_cycles", Integer, nullable=False, server_default="0"),
    Column("fingerprint", String(64)),
    # where this stack's communicator stands in the broadcast channel of all stacks
    Column("broadcast_cursor", BigID, nullable=False, server_default="0"),
    Column("cost_usd", Numeric(18, 8), nullable=False, server_default="0"),
    Column("next_cycle_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_stacks_state", stacks.c.state)

# The agent filling each role of a stack, what work detection last found for it (the
# detection cache, `detected_at` + priority + reason), its activity and its memory.
stack_agents = Table(
    "stack_agents",
    metadata,
    Column("stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(20), primary_key=True),
    Column("agent", String(100), nullable=False),
    Column("status", String(20), nullable=False, server_default="idle"),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("reason", Text),
    Column("detected_at", UTCDateTime),
    Column("last_ran_at", UTCDateTime),
    Column("executions", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("memory", Text, nullable=False, server_default=""),
    Column("summaries", Integer, nullable=False, server_default="0"),
)

stack_todos = Table(
    "stack_todos",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(300), nullable=False),
    Column("detail", Text),
    Column("priority", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("owner_role", String(20), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("done_cycle", Integer),
    Column("reviewed", Boolean, nullable=False, server_default=false()),
    Column("artifact_id", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_stack_todos_stack_id_status", stack_todos.c.stack_id, stack_todos.c.status)

# Messages between the agents of a stack (`to_role`, read when `read_at` is set) and the
# broadcast channel shared by all stacks (`kind` broadcast, `stack_id` NULL, sent from
# `from_stack_id`; each stack reads it up to its `broadcast_cursor`).
stack_messages = Table(
    "stack_messages",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    # "<stack>:<cycle>:<role>:<n>": a replayed cycle posts each of its messages once
    Column("key", String(120), nullable=False, unique=True),
    Column("stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE")),
    Column("from_stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE")),
    Column("from_role", String(20), nullable=False),
    Column("to_role", String(20)),
    Column("kind", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("read_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_stack_messages_stack_id_to_role", stack_messages.c.stack_id, stack_messages.c.to_role)
Index(
    "ix_stack_messages_broadcasts",
    stack_messages.c.id,
    postgresql_where=text("kind = 'broadcast'"),
    sqlite_where=text("kind = 'broadcast'"),
)

stack_artifacts = Table(
    "stack_artifacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("todo_id", String(40)),
    Column("role", String(20), nullable=False),
    Column("name", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("reviewed", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_stack_artifacts_stack_id", stack_artifacts.c.stack_id)

# One row per cycle: the work detected, the graph with each node's state, result or
# error, the decision and its reason. Unique per (stack, number): a replayed cycle
# records itself once.
stack_cycles = Table(
    "stack_cycles",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    Column("stack_id", String(40), ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("work", JSONDoc, nullable=False),
    Column("graph", JSONDoc, nullable=False),
    Column("outcome", JSONDoc),
    Column("decision", String(20), nullable=False),
    Column("delay_s", Float, nullable=False, server_default="0"),
    Column("reason", Text, nullable=False),
    Column("cost_usd", Numeric(18, 8), nullable=False, server_default="0"),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    UniqueConstraint("stack_id", "number", name="uq_stack_cycles_stack_id_number"),
)

# Deck-wide stack controls (one row, id 1): the global scale, NULL for the setting's.
stack_controls = Table(
    "stack_controls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scale", Integer),
    Column("updated_at", UTCDateTime, nullable=False),
)
