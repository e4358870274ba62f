"""What a build tells people outside the dashboard: budget alerts and a Slack-compatible webhook.

Each notice is a journaled step (`notify:<key>`), so a resumed build never sends one twice;
a webhook that fails is recorded on the step and never fails the build.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import httpx

from agentdeck.domain.retry import NO_RETRY
from agentdeck.engine.context import RunContext

THRESHOLDS = (50, 80, 100)
WEBHOOK_TIMEOUT_S = 10.0


async def notify(ctx: RunContext, url: str | None, key: str, text: str, **fields: Any) -> None:
    """POST `{"text": ..., "blocks": [...], "agentdeck": {...}}` to `url` once (if it is set)."""
    if not url:
        return

    async def send() -> dict[str, Any]:
        body = {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            "agentdeck": {"run_id": ctx.run_id, "event": key.split(":")[0], **fields},
        }
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as client:
                response = await client.post(url, json=body)
        except httpx.HTTPError as error:
            return {"sent": False, "error": f"{type(error).__name__}: {error}"[:500]}
        return {"sent": response.is_success, "status": response.status_code}

    outcome: dict[str, Any] = await ctx.step(f"notify:{key}", send, retry=NO_RETRY)
    if not outcome["sent"]:
        ctx.emit("build.webhook_failed", f"webhook for {key} failed: {outcome}", **outcome)


class BudgetWatch:
    """Adds up what the build's agent calls cost; alerts once at 50, 80 and 100 % of the budget.

    The total is rebuilt from the journaled replies on replay, so it is the same after a
    resume; the alert of each threshold is a step of its own, so it is never repeated.
    """

    def __init__(self, budget_usd: float | None, webhook_url: str | None) -> None:
        self.budget = None if budget_usd is None else Decimal(str(budget_usd))
        self.webhook_url = webhook_url
        self.spent = Decimal(0)

    async def add(self, ctx: RunContext, cost: Decimal | None) -> None:
        self.spent += cost or 0
        if not self.budget:
            return
        share = self.spent / self.budget * 100
        for threshold in THRESHOLDS:
            if share < threshold:
                break
            key = f"budget:{threshold}"
            if ctx.is_replayed(f"notify:{key}") or ctx.is_replayed(f"alert:{key}"):
                continue
            text = (
                f"Build {ctx.run_id} has spent ${self.spent:.4f}, {threshold} % of its "
                f"${self.budget:.2f} budget"
            )
            fields = {
                "threshold": threshold,
                "budget_usd": str(self.budget),
                "spent_usd": str(self.spent),
            }
            alerted: dict[str, Any] = await ctx.step(
                f"alert:{key}", functools.partial(dict, fields), retry=NO_RETRY
            )
            ctx.emit("build.budget_alert", text, **alerted)
            await notify(ctx, self.webhook_url, key, text, **fields)
