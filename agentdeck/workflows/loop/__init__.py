"""The loop workflow: Producer -> Evaluator -> Reviser until the score passes.

`workflow` holds the stages and their prompts, `evaluation` reads the evaluator's
scores.
"""

from __future__ import annotations

from agentdeck.workflows.loop.workflow import LoopInputs, register

__all__ = ["LoopInputs", "register"]
