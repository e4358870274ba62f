"""Re-run a finished run from one of its steps (see store/reruns.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.deck.submissions import check_text
from agentdeck.domain.runs import Run
from agentdeck.domain.topics import Topic
from agentdeck.store import transitions
from agentdeck.store.reruns import rerun_from

if TYPE_CHECKING:
    from agentdeck.deck import Deck


class Reruns:
    """Forks of finished runs: the steps before the chosen one are copied, the rest run again."""

    def __init__(self, deck: Deck) -> None:
        self.deck = deck

    async def from_step(self, run_id: str, step_key: str) -> Run:
        """The new run, queued and linked to `run_id` (its `retry_of`)."""
        check_text(step_key, "from_step")
        deck = self.deck
        run, _ = await deck.db.write(
            lambda conn: transitions.steer(conn, deck.clock.now(), run_id, rerun_from(step_key))
        )
        deck.notifier.publish(Topic.READY, None)
        deck.notifier.publish(Topic.EVENT)
        return run
