"""Settings, read from AGENTDECK_* environment variables and a `.env` file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob agentdeck has; each field is documented where it is declared."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path(".agentdeck"), description="Folder for the SQLite file and data.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is a SQLite file in data_dir."
    )
    sqlite_synchronous: str = Field(
        "NORMAL",
        description="SQLite `synchronous` pragma: FULL survives power loss, NORMAL is much faster "
        "and in WAL mode loses at most the last commits on power loss, never on a process crash.",
    )
    host: str = Field("127.0.0.1", description="Address `agentdeck up` binds to.")
    port: int = Field(8000, description="Port `agentdeck up` binds to.")
    token: SecretStr | None = Field(
        None,
        description="API token (AGENTDECK_TOKEN). When set, every API request, live streams "
        "included, must send `Authorization: Bearer <token>`; `up` and `serve` refuse to bind "
        "to an address other than loopback without one.",
    )
    concurrency: int = Field(100, ge=1, description="Runs a worker executes at once.")
    lease_interval: timedelta = Field(
        timedelta(seconds=30), description="How long a claim holds without a heartbeat."
    )
    heartbeat_interval: timedelta = Field(
        timedelta(seconds=5), description="How often a worker renews the leases of its runs."
    )
    rescue_interval: timedelta = Field(
        timedelta(seconds=5), description="How often a worker looks for runs whose lease expired."
    )
    poll_interval: timedelta = Field(
        timedelta(seconds=2),
        description="Safety-net poll when no wake-up arrives (wake-ups are pushed, not polled).",
    )
    worker_lost_after: timedelta = Field(
        timedelta(seconds=60), description="A worker silent this long is shown as lost."
    )
    stalled_after: timedelta = Field(
        timedelta(minutes=2), description="A running run with an older heartbeat is stalled."
    )
    shutdown_grace: timedelta = Field(
        timedelta(seconds=30),
        description="On SIGTERM, how long runs may finish before they are released to the queue.",
    )

    task_lease_interval: timedelta = Field(
        timedelta(seconds=60),
        description="How long an external agent holds a task it claimed without a heartbeat or "
        "a progress report; then the task returns to the pool for another agent.",
    )
    task_max_lease_expirations: int = Field(
        3,
        ge=1,
        description="A task whose lease expired this many times is blocked for human review "
        "instead of being offered again.",
    )
    external_agent_unreachable_after: timedelta = Field(
        timedelta(minutes=2),
        description="An external agent that neither polled nor reported for this long is marked "
        "unreachable and its tasks return to the pool; keep it above the longest poll wait "
        "(60 s).",
    )
    task_sweep_interval: timedelta = Field(
        timedelta(seconds=2),
        description="How often expired task leases, offers nobody picked up and silent external "
        "agents are looked for.",
    )

    workflow_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Python modules (comma-separated) whose `register(registry)` adds workflows.",
    )

    agents_file: Path | None = Field(
        None,
        description="agents.yaml defining the agents; default: the demo agents shipped with "
        "agentdeck, one for every role the built-in workflows use.",
    )
    skills_dir: Path | None = Field(
        None,
        description="Folder of skill markdown files (`<name>.md`) that agents name in `skills`; "
        "searched before the skills shipped with agentdeck.",
    )
    simulator: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Offline simulator: `auto` answers every agent with it when no provider key "
        "is set; `always` uses it even with keys (demos, tests, benchmarks); `never` lets calls "
        "that no configured provider can answer fail.",
    )
    simulator_latency: timedelta = Field(
        timedelta(0), description="Delay of each simulated model call (seconds or ISO 8601)."
    )
    simulator_failure_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of simulated calls failing with a transient 503, to exercise retries.",
    )
    simulator_seed: int = Field(
        0, description="Seed of the simulator's failure draws: the same seed fails the same calls."
    )
    openai_compatible: dict[str, dict[str, str | None]] = Field(
        default_factory=dict,
        description="OpenAI-compatible endpoints, as JSON, used as `<name>:<model>`: "
        '{"<name>": {"base_url": "http://host/v1", "api_key_env": "VAR_HOLDING_THE_KEY"}}. '
        "Built in: ollama, vllm, openrouter, cerebras.",
    )
    provider_base_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Another base URL for a provider's API (a proxy, a gateway), as JSON: "
        '{"openai": "https://proxy.example/v1"}.',
    )
    provider_limits: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Rate limits per provider, enforced in each worker, as JSON: "
        '{"openai": {"requests_per_minute": 500, "tokens_per_minute": 200000}}.',
    )
    llm_request_timeout: timedelta = Field(
        timedelta(seconds=120),
        description="Longest wait for one model request; then it counts as a transient failure.",
    )
    llm_model_timeout: timedelta = Field(
        timedelta(seconds=90),
        description="The most one model of an agent's chain may take for one call, its tries "
        "and backoffs together, before the next model is tried; an agent's `timeout_s` "
        "overrides it.",
    )
    llm_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Retries of a model after a transient error (429, 5xx, timeout, refused "
        "connection) before the next model of the agent's chain is tried.",
    )
    llm_retry_interval: timedelta = Field(
        timedelta(milliseconds=500),
        description="First backoff between retries of a model; doubles each retry, with jitter.",
    )
    llm_retry_max_interval: timedelta = Field(
        timedelta(seconds=20),
        description="Longest backoff between retries; also caps a provider's Retry-After.",
    )
    # builds: repositories, worktrees, the test sandbox, notifications
    builds_dir: Path | None = Field(
        None,
        description="Folder for cloned repositories and build worktrees; default: data_dir/builds.",
    )
    build_test_timeout: float = Field(
        300, gt=0, le=3600, description="Seconds a build's tests may take in the sandbox."
    )
    build_webhook_url: str | None = Field(
        None,
        description="URL that receives a Slack-compatible JSON message when a build waits at "
        "a gate, finishes, fails or crosses a budget threshold.",
    )

    def resolved_builds_dir(self) -> Path:
        return (self.builds_dir or self.data_dir / "builds").resolve()

    # deployment on several machines (docs/deploy.md)
    listen_database_url: str | None = Field(
        None,
        description="PostgreSQL URL for the one LISTEN connection of each process, when "
        "database_url goes through a pooler in transaction mode (PgBouncer): LISTEN needs a "
        "session of its own, so point this at the server or at a session-mode pool. Default: "
        "database_url.",
    )

    # --- stacks: teams of role agents working in cycles ---
    stack_scale: int = Field(
        20,
        ge=0,
        description="Agent executions of stacks that may run at once in each worker process, "
        "until the scale control of the stacks page sets another; 0 holds every stack.",
    )
    stack_stop_after_idle: int = Field(
        3, ge=1, description="A stack whose agents had no work for this many cycles stops."
    )
    stack_stall_limit: int = Field(
        5,
        ge=1,
        description="A stack whose agents made no new todos, artifacts or messages (or the "
        "same output again) for this many cycles stops, with the reason shown.",
    )
    stack_memory_limit: int = Field(
        4000,
        ge=200,
        description="Characters of an agent's memory in a stack; past it the agent's model "
        "summarises it (a journaled call like any other).",
    )
    stack_periodic_interval: timedelta = Field(
        timedelta(seconds=60),
        description="How long a role waits before its periodic rule (planner check, reviewer "
        "pass, communicator broadcast) gives it work again.",
    )
    stack_hold_delay: timedelta = Field(
        timedelta(seconds=2),
        description="How long a stack held by the scale control (0) waits before it looks "
        "again; also the longest an agent execution waits for a slot of the pool.",
    )
    stack_detection_ttl: timedelta = Field(
        timedelta(seconds=5),
        description="How long a stack's work detection is reused before it is computed again.",
    )

    @field_validator(
        "lease_interval",
        "heartbeat_interval",
        "rescue_interval",
        "poll_interval",
        "worker_lost_after",
        "stalled_after",
        "shutdown_grace",
        "simulator_latency",
        "llm_request_timeout",
        "llm_model_timeout",
        "llm_retry_interval",
        "llm_retry_max_interval",
        "task_lease_interval",
        "external_agent_unreachable_after",
        "task_sweep_interval",
        "stack_periodic_interval",
        "stack_hold_delay",
        "stack_detection_ttl",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object) -> object:
        """Durations may be given as plain seconds ("1.5") as well as ISO 8601 ("PT1.5S")."""
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value
        return value

    @field_validator("token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        """`AGENTDECK_TOKEN=` (empty) means no token, never an empty one that anyone matches."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("workflow_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'agentdeck.db').resolve()}"

    # --- the server on a network: hosts, request bodies, slow clients, signing in ---------
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More `Host` names the server answers to (comma-separated), besides "
        "127.0.0.1, localhost, [::1] and the address it is bound to; `*` accepts any (behind "
        "a proxy that checks Host itself). Other names get 421: a web page cannot reach the "
        "API through DNS rebinding.",
    )
    max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="Largest request body (runs, agents, forms), refused with 413 before it "
        "is read.",
    )
    max_artifact_body_bytes: int = Field(
        16_000_000,
        ge=1024,
        description="Largest body of an external agent's report (artifacts, outputs), refused "
        "with 413 before it is read.",
    )
    body_read_timeout: timedelta = Field(
        timedelta(seconds=30),
        description="How long a client may take to send a request body; then 408.",
    )
    header_timeout: timedelta = Field(
        timedelta(seconds=10),
        description="How long a connection may take to send a request's headers, and how long "
        "an idle keep-alive connection stays open; then it is closed.",
    )
    max_connections: int = Field(
        800,
        ge=1,
        description="Open connections the server keeps at once (live streams included); more "
        "are answered 503 and closed. Keep it under the process's file limit.",
    )
    login_attempts: int = Field(
        5,
        ge=1,
        description="Wrong tokens one client may try (sign-in form or API) before it must wait.",
    )
    login_lockout: timedelta = Field(
        timedelta(minutes=1),
        description="How long a client that sent too many wrong tokens is refused (429).",
    )

    @field_validator(
        "body_read_timeout", "header_timeout", "login_lockout", mode="before", check_fields=False
    )
    @classmethod
    def _edge_seconds(cls, value: object) -> object:
        """Plain seconds ("1.5") as well as ISO 8601, like the other durations."""
        return cls._seconds(value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    # Run health on the overview (new-user issue): overdue gates and looping agents.
    gate_overdue_after: timedelta = Field(
        timedelta(hours=24),
        description="A run waiting at a gate longer than this is flagged as overdue on the "
        "overview and the runs list (seconds or ISO 8601).",
    )
    looping_after: int = Field(
        3,
        ge=2,
        le=100,
        description="An agent giving the same answer this many times in a row in one run is "
        "flagged as looping (an `agent.looping` event; the overview lists the run).",
    )

    @field_validator("gate_overdue_after", mode="before")
    @classmethod
    def _overdue_seconds(cls, value: object) -> object:
        """Plain seconds ("3600") as well as ISO 8601 ("PT1H")."""
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value
        return value
