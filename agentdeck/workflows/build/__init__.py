"""The build workflow: review a repository, plan, and execute approved phases in a worktree.

`workflow` holds the stages and gates, `phases` a phase's execution, `plan` the plan's
validation and estimates, `prompts` what the agents are asked.
"""

from __future__ import annotations

from agentdeck.workflows.build.workflow import BuildInputs, PlanApproval, register

__all__ = ["BuildInputs", "PlanApproval", "register"]
