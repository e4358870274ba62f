"""The plan workflow: a plan becomes a graph of tasks, executed by agents in parallel.

The plan is JSON, structured markdown, or free text that the planner agent decomposes
(see `decompose`). Tasks whose prerequisites are done run at once, up to `max_parallel`,
each by an internal agent chosen by role or offered to external agents that poll the
API; failures are retried with backoff, then skip their dependents or wait for a person;
blocked tasks raise the `human review` gate. See `scheduler`, `inbox` and `moves` for how.

Steps: `llm:plan:N` (free text only), `agents`, `tasks`, `route:<id>` (dispatch `auto`),
`llm:task:<id>:<attempt>`, and the signals `plan.tasks` and gate `human review`.
Events: `plan.created`, `task.*` (offered, started, completed, failed, retrying, blocked,
approved, skipped, claimed, progress, artifact, returned), `plan.invalid`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from agentdeck.agents import runner_of
from agentdeck.domain.errors import NotFound
from agentdeck.domain.plans import InvalidPlan, TaskGraph
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.workflows.plan.decompose import PlanFormat, decompose, read_plan
from agentdeck.workflows.plan.scheduler import Dispatch, Execution, OnFailure, Policy

NAME = "plan"
AgentName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        json_schema_extra={"x-agentdeck-kind": "agent"},
    ),
]
Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,59}$")]


class PlanInputs(BaseModel):
    """Inputs of a plan run."""

    model_config = ConfigDict(extra="forbid", title="Plan → execution")

    format: Literal["auto", "json", "markdown", "text"] = Field(
        "auto",
        title="Format",
        description="How to read `plan`: auto tells JSON, markdown with task ids, and free "
        "text apart.",
    )
    plan: dict[str, Any] | list[Any] | str = Field(
        title="Plan",
        description="JSON ({title, summary, tasks: [{id, title, description, role, "
        "prerequisites, subtasks, confidence}]}), markdown whose headings or list items start "
        "with task ids (`## T2: Design (depends on T1)`), or free text for the planner.",
        examples=[
            "# Launch\n## T1: Research competitors\n## T2: Write the page (depends on T1)",
            "Plan the launch of a small bakery's website.",
        ],
        # the start form reads it as JSON, markdown or text and previews its tasks
        json_schema_extra={"x-agentdeck-kind": "plan"},
    )
    planner: AgentName = Field(
        "planner", title="Planner", description="Decomposes free text into tasks."
    )
    agents: dict[Role, AgentName] = Field(
        default_factory=dict,
        title="Agents by role",
        description="The internal agent for each role; by default the agent named like the "
        "role, else `default_agent`.",
    )
    default_agent: AgentName = Field(
        "executor",
        title="Default agent",
        description="Runs tasks whose role has no agent of its name.",
    )
    dispatch: Literal["auto", "internal", "external"] = Field(
        "auto",
        title="Dispatch",
        description="Who runs tasks that do not say: internal agents, external agents, or "
        "auto (external when an active external agent has the task's role as a capability).",
    )
    max_parallel: int = Field(
        10, ge=1, le=1000, title="Parallel tasks", description="Internal tasks run at once."
    )
    max_attempts: int = Field(
        3, ge=1, le=20, title="Max attempts", description="Tries of a failing task."
    )
    retry_interval_s: float = Field(
        2.0,
        ge=0,
        le=3600,
        title="Retry backoff (s)",
        description="Wait before the first retry; doubles with each retry (up to 60 s).",
    )
    on_failure: Literal["skip_dependents", "ask_human"] = Field(
        "skip_dependents",
        title="When a task keeps failing",
        description="Skip the tasks that depend on it, or block it for human review.",
    )
    review_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Review threshold",
        description="Tasks with a lower decomposition confidence wait for a person's review "
        "(the `human review` gate) before they run.",
    )
    pickup_timeout_s: float = Field(
        600,
        gt=0,
        le=30 * 86400,
        title="Pickup timeout (s)",
        description="An offered task no external agent takes within this is blocked for "
        "human review.",
    )
    budget_usd: float | None = Field(
        None, ge=0, title="Budget (USD)", description="The most the run may spend on models."
    )

    @field_validator("plan")
    @classmethod
    def _readable(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON and markdown plans are checked here: a bad one creates nothing."""
        try:
            read_plan(value, info.data.get("format", "auto"))
        except InvalidPlan as error:
            raise PydanticCustomError(
                "invalid_plan", "{problems}", {"problems": str(error)}
            ) from None
        return value


async def plan(ctx: RunContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn the plan into tasks and execute them."""
    inputs = PlanInputs.model_validate(raw)
    graph = read_plan(inputs.plan, inputs.format)
    if graph is None:
        if not ctx.is_replayed("tasks"):
            await ctx.set_progress(stage="planning", progress=0.0)
        assert isinstance(inputs.plan, str)
        graph = await decompose(ctx, inputs.plan, inputs.planner)
    policy = Policy(
        agents=await ctx.step("agents", lambda: _agents_by_role(ctx, graph, inputs)),
        max_parallel=inputs.max_parallel,
        max_attempts=inputs.max_attempts,
        retry_interval=inputs.retry_interval_s,
        on_failure=OnFailure(inputs.on_failure),
        review_threshold=inputs.review_threshold,
        pickup_timeout=inputs.pickup_timeout_s,
        dispatch=Dispatch(inputs.dispatch),
    )
    return await Execution(ctx, graph, policy).run()


async def _agents_by_role(ctx: RunContext, graph: TaskGraph, inputs: PlanInputs) -> dict[str, str]:
    """Each role's internal agent: as the inputs say, else its namesake, else the default."""
    directory = runner_of(ctx).directory
    out: dict[str, str] = {}
    for role in sorted({node.role for node in graph.nodes.values()} | {"executor"}):
        if role in inputs.agents:
            out[role] = inputs.agents[role]
            continue
        try:
            await directory.configured(role)
            out[role] = role
        except NotFound:
            out[role] = inputs.default_agent
    return out


def _agents_of(inputs: dict[str, Any]) -> list[str]:
    """The agents a run names, for listing runs by agent (roles stand for their namesakes)."""
    names = [inputs.get("default_agent", "executor"), *inputs.get("agents", {}).values()]
    try:
        graph = read_plan(inputs["plan"], inputs.get("format", PlanFormat.AUTO))
    except (InvalidPlan, KeyError):
        return names
    if graph is None:
        return [inputs.get("planner", "planner"), *names]
    agents = inputs.get("agents", {})
    for node in graph.nodes.values():
        names.append(node.agent or agents.get(node.role, node.role))
    return names


def register(registry: Registry) -> None:
    """Add the plan workflow to `registry`."""
    registry.workflow(
        NAME,
        inputs=PlanInputs,
        description="A plan (JSON, markdown or free text) becomes a graph of tasks with "
        "prerequisites, executed in parallel by internal agents or by external agents that "
        "poll for work; blocked tasks wait for a person.",
        agents=_agents_of,
    )(plan)
