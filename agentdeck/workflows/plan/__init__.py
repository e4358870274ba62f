"""The plan workflow: a plan becomes a graph of tasks run by internal and external agents.

`workflow` reads the inputs and registers the workflow, `decompose` and `markdown` read
a plan (asking a planner agent for free text), `scheduler` runs the graph in waves,
`inbox` takes external reports and people's resolutions, `moves` records each task's
moves through `ctx.tasks`, `policy` holds the execution's settings and per-task state.
"""

from __future__ import annotations

from agentdeck.workflows.plan.decompose import PlanFormat, format_of, read_plan
from agentdeck.workflows.plan.workflow import PlanInputs, register

__all__ = ["PlanFormat", "PlanInputs", "format_of", "read_plan", "register"]
