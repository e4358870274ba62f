"""SQLAlchemy Core tables: runs, steps, events, artifacts, signals, workers, usage, agents,
tasks, external agents, repositories and schedules."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from agentdeck.store.types import BigID, JSONDoc, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workflow", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("inputs", JSONDoc, nullable=False),
    Column("result", JSONDoc),
    Column("error", Text),
    Column("priority", Integer, nullable=False, server_default="0"),
    # not claimable before this time: the not-before of a submit, a retry's backoff
    Column("due_at", UTCDateTime, nullable=False),
    Column("idempotency_key", String(200), unique=True),
    # what a waiting run waits for: a gate or signal name, or a timer (due_at)
    Column("wait_kind", String(20)),
    Column("waiting_on", String(200)),
    Column("claimed_by", String(200)),
    Column("claimed_at", UTCDateTime),
    # incremented by every claim; writes are fenced on (claimed_by, lease_epoch)
    Column("lease_epoch", Integer, nullable=False, server_default="0"),
    Column("lease_expires_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("cancel_requested_at", UTCDateTime),
    Column("pause_requested_at", UTCDateTime),
    Column("retry_of", String(40), ForeignKey("runs.id")),
    # where the workflow says it stands; shown in lists without reading events
    Column("stage", String(60)),
    Column("attempt", Integer),
    Column("score", Float),
    Column("verdict", String(40)),
    Column("progress", Float),
    Column("agents", JSONDoc),
    # totals of the usage rows, kept in the same transaction as each row
    Column("cost_usd", Numeric(18, 8), nullable=False, server_default="0"),
    Column("cost_unknown", Boolean, nullable=False, server_default=false()),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("cached_tokens", Integer, nullable=False, server_default="0"),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # at most `concurrency_limit` runs sharing a key run at once (engine/worker.py claims)
    Column("concurrency_key", String(200)),
    Column("concurrency_limit", Integer),
)

# Partial indexes, one per state a hot query reads; each query compares status
# with a literal so both SQLite and PostgreSQL can match the index's WHERE.
# No index may lead with `status`: SQLite, without statistics, would prefer it
# and sort every queued run instead of reading the claim order off the index.
Index(
    "ix_runs_claim_order",
    runs.c.priority.desc(),
    runs.c.due_at,
    runs.c.created_at,
    runs.c.id,
    postgresql_where=text("status = 'queued'"),
    sqlite_where=text("status = 'queued'"),
)
Index(
    "ix_runs_running_lease",
    runs.c.lease_expires_at,
    postgresql_where=text("status = 'running'"),
    sqlite_where=text("status = 'running'"),
)
Index(
    "ix_runs_waiting_due",
    runs.c.due_at,
    postgresql_where=text("status = 'waiting'"),
    sqlite_where=text("status = 'waiting'"),
)
# Keyed runs are claimed by their own query, so the claim of runs without a key
# reads the same index as before and pays nothing for them.
Index(
    "ix_runs_keyed_claim_order",
    runs.c.priority.desc(),
    runs.c.due_at,
    runs.c.created_at,
    runs.c.id,
    postgresql_where=text("status = 'queued' AND concurrency_key IS NOT NULL"),
    sqlite_where=text("status = 'queued' AND concurrency_key IS NOT NULL"),
)
Index(
    "ix_runs_running_key",
    runs.c.concurrency_key,
    postgresql_where=text("status = 'running' AND concurrency_key IS NOT NULL"),
    sqlite_where=text("status = 'running' AND concurrency_key IS NOT NULL"),
)
Index("ix_runs_claimed_by", runs.c.claimed_by)
Index("ix_runs_workflow", runs.c.workflow)
Index("ix_runs_retry_of", runs.c.retry_of)

steps = Table(
    "steps",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("result", JSONDoc),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "key", name="uq_steps_run_id_key"),
)

# Ids are handed out in commit order (see store/journal.py), so `id > N` resumes a stream.
events = Table(
    "events",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("message", Text),
    Column("data", JSONDoc),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_events_run_id_id", events.c.run_id, events.c.id)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content", Text, nullable=False),
    Column("attempt", Integer),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # one artifact per name and run: a step replayed after a crash stores nothing twice
    UniqueConstraint("run_id", "name", name="uq_artifacts_run_id_name"),
)
Index("ix_artifacts_run_id", artifacts.c.run_id)

# Gate decisions and external signals addressed to a run; the n-th wait on a
# name takes the n-th signal of that name, so consuming needs no flag.
signals = Table(
    "signals",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("payload", JSONDoc),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_signals_run_id_name", signals.c.run_id, signals.c.name, signals.c.id)

workers = Table(
    "workers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("hostname", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
)

# One row per model call: tokens and cost, rolled up per run, agent and day.
usage = Table(
    "usage",
    metadata,
    Column("id", BigID, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("step_key", String(300)),
    Column("agent", String(200)),
    Column("provider", String(100)),
    Column("model", String(200)),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("cached_tokens", Integer, nullable=False, server_default="0"),
    # NULL when no price is known: unknown, never silently zero
    Column("cost_usd", Numeric(18, 8)),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_usage_run_id", usage.c.run_id)
Index("ix_usage_agent_created_at", usage.c.agent, usage.c.created_at)
Index("ix_usage_created_at", usage.c.created_at)

# Agents created through the API (agents.yaml agents live in their file, not here);
# `spec` holds the whole AgentSpec, `role` is repeated for listing by role.
agents = Table(
    "agents",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(60), nullable=False),
    Column("spec", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_agents_role", agents.c.role)

# --- plan runs: tasks, and the external agents that poll for them --------------------

# One row per task of a plan run, written by the plan workflow (fenced by the run's
# lease epoch) and by external agents (fenced by the task's own lease). `id` is
# "<run id>:<task key>"; `revision` counts the workflow's changes, so a replayed run
# cannot write a change twice; `attempt` counts tries.
tasks = Table(
    "tasks",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(60), nullable=False),
    Column("parent_key", String(60)),
    Column("position", Integer, nullable=False),
    Column("depth", Integer, nullable=False, server_default="0"),
    Column("is_group", Boolean, nullable=False, server_default=false()),
    Column("title", String(300), nullable=False),
    Column("description", Text),
    Column("role", String(60), nullable=False),
    Column("prerequisites", JSONDoc),
    Column("confidence", Float),
    Column("needs_review", Boolean, nullable=False, server_default=false()),
    Column("status", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("revision", Integer, nullable=False, server_default="0"),
    # internal: an agent of this deck inside the run; external: a remote agent polls for it
    Column("executor", String(20)),
    # the internal agent's name, or the id of the external agent holding (or last held) it
    Column("agent", String(200)),
    # an external agent a person reassigned the task to; others may not take it
    Column("target_agent", String(40)),
    Column("inputs", JSONDoc),
    Column("output", JSONDoc),
    Column("error", Text),
    Column("reason", Text),
    Column("progress", Float),
    Column("lease_id", String(40)),
    Column("lease_expires_at", UTCDateTime),
    Column("lease_expirations", Integer, nullable=False, server_default="0"),
    # an offered task is not handed out before this time (a retry's backoff)
    Column("available_at", UTCDateTime),
    Column("pickup_deadline_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_tasks_run_id_position", tasks.c.run_id, tasks.c.position)
Index(
    "ix_tasks_offered",
    tasks.c.available_at,
    postgresql_where=text("status = 'ready'"),
    sqlite_where=text("status = 'ready'"),
)
Index(
    "ix_tasks_leased",
    tasks.c.lease_expires_at,
    postgresql_where=text("status IN ('assigned', 'running')"),
    sqlite_where=text("status IN ('assigned', 'running')"),
)
Index("ix_tasks_agent", tasks.c.agent)

# Remote programs that poll for tasks over HTTP; only a sha256 of the token is kept.
external_agents = Table(
    "external_agents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", Text),
    Column("capabilities", JSONDoc, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Signed-in dashboard sessions: a cookie is honoured only while its row is here and not
# revoked, so signing out ends the session on every API process. Keyed by a sha256 of
# the session id; the cookie holds the id, signed.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("revoked_at", UTCDateTime),
)

# Scoped API tokens (domain/api_tokens.py): only the sha256 of the secret is kept; a
# revoked token keeps its row so the dashboard can show when it was revoked.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

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

# --- builds: the git repositories builds run on ---------------------------------------

# A repository registered by path or cloned (then `origin` is where from); builds are
# runs of the `build` workflow whose inputs name the repository's id.
repositories = Table(
    "repositories",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("path", Text, nullable=False),
    Column("origin", Text, nullable=True),
    Column("push_remote", Text, nullable=True),
    Column("budget_usd", Numeric(18, 8), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", name="uq_repositories_name"),
)

# --- schedules: workflows submitted on a cron-like spec ---------------------------------

# A schedule fires by moving `next_due_at` from the due time it read to the next one
# (a guarded UPDATE): whichever worker moves it submits the run, so each due time fires once.
schedules = Table(
    "schedules",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("workflow", String(100), nullable=False),
    Column("inputs", JSONDoc, nullable=False),
    Column("spec", String(100), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("next_due_at", UTCDateTime, nullable=False),
    Column("last_run_id", String(40), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", name="uq_schedules_name"),
)
Index("ix_schedules_next_due_at", schedules.c.next_due_at)
