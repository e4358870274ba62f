"""SQLAlchemy Core tables: runs, steps, events, artifacts, signals, workers, usage, agents,
tasks, external agents, repositories and schedules; the stacks' tables are in
`stack_tables.py`, imported here so that `metadata` holds every table."""

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
    true,
)

# the stacks' tables live apart (stack_tables.py), on the same metadata
from agentdeck.store import stack_tables  # noqa: F401
from agentdeck.store.metadata import metadata as metadata
from agentdeck.store.types import BigID, JSONDoc, UTCDateTime

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

# --- build modes: the dashboard's overrides over the agents file's mode table ----------

# One row per (mode, role, kind); kind "default" is the role's chain for any other kind.
build_modes = Table(
    "build_modes",
    metadata,
    Column("mode", String(20), primary_key=True),
    Column("role", String(100), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("models", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
