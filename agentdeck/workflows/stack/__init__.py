"""The stack workflow: a team of role agents working on one idea, a cycle per run claim.

`workflow` runs one orchestration cycle and re-arms the run for the next (the journal
stays one cycle long), `board` is what it asks of the Deck, `outputs` reads each role's
structured answer and `prompts` writes what each role is asked.
"""

from __future__ import annotations

from agentdeck.workflows.stack.workflow import NAME, StackInputs, register

__all__ = ["NAME", "StackInputs", "register"]
