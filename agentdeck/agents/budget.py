"""Budgets that pause, not kill: reserve the worst case before a call, park at the `budget` gate.

A run's ledger lives for one execution and is rebuilt on replay from the journaled
model steps: each step records its cost, the limits in force (raised ones) and how
many budget gates the run had passed. Replaying a step consumes the same number of
journaled gate decisions, so a resumed run waits at the gate it should, never at an
old one. Scopes: `run` (inputs `budget_usd`) and `agent:<name>` (the agent's
`budget_usd`, per run).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from agentdeck.domain.errors import AgentdeckError, InvalidInput
from agentdeck.domain.gates import GateDecision
from agentdeck.domain.runs import WaitKind
from agentdeck.engine.context import RunContext

GATE = "budget"
ZERO = Decimal(0)


class BudgetExceeded(AgentdeckError):
    """A person declined to raise a budget a call needed."""


def _decimal(value: Any, what: str) -> Decimal | None:
    """A budget amount in USD; a malformed one is an error, never silently no budget."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else None
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{what} must be an amount of USD (>= 0), not {value!r}", field=what)
    return amount


class BudgetLedger:
    """Spent, reserved and limit per scope, for one run in one execution."""

    def __init__(self, run_limit: Any) -> None:
        self._base: dict[str, Decimal] = {}
        if (limit := _decimal(run_limit, "inputs.budget_usd")) is not None:
            self._base["run"] = limit
        self.raised: dict[str, Decimal] = {}
        self.spent: dict[str, Decimal] = {}
        self.reserved: dict[str, Decimal] = {}
        self.gates = 0
        self.in_flight = 0
        self._limits: dict[str, Decimal] = {}  # the limit each scope was last reserved under
        self._reported: set[tuple[str, Decimal]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._gate_lock = asyncio.Lock()

    # --- scopes and limits -----------------------------------------------------

    def scopes(self, agent: str, agent_limit: Decimal | None) -> list[tuple[str, Decimal]]:
        """(scope, limit) of every budget that applies to a call of `agent`."""
        out = []
        if "run" in self._base or "run" in self.raised:
            out.append(("run", self.limit("run", None)))
        scope = f"agent:{agent}"
        if agent_limit is not None or scope in self.raised:
            out.append((scope, self.limit(scope, agent_limit)))
        return out

    def limit(self, scope: str, base: Decimal | None) -> Decimal:
        limits = [v for v in (self._base.get(scope), base, self.raised.get(scope)) if v is not None]
        return max(limits)

    def over(
        self, scopes: list[tuple[str, Decimal]], amount: Decimal
    ) -> tuple[str, Decimal] | None:
        for scope, limit in scopes:
            if self.spent.get(scope, ZERO) + self.reserved.get(scope, ZERO) + amount > limit:
                return scope, limit
        return None

    # --- a new call -------------------------------------------------------------

    async def reserve(
        self, ctx: RunContext, agent: str, agent_limit: Decimal | None, amount: Decimal
    ) -> list[str]:
        """Hold `amount` in every scope, first waiting at the budget gate if it would overrun.

        Returns the scopes charged. The gate is opened only once nothing else of the run
        is in flight, so parking the run abandons no paid call.
        """
        while True:
            scopes = self.scopes(agent, agent_limit)
            blocked = self.over(scopes, amount)
            if blocked is None:
                for scope, limit in scopes:
                    self.reserved[scope] = self.reserved.get(scope, ZERO) + amount
                    self._limits[scope] = limit
                return [s for s, _ in scopes]
            async with self._gate_lock:
                if self.in_flight:
                    await self._idle.wait()
                    continue
                scope, limit = blocked
                if self.over(self.scopes(agent, agent_limit), amount) is None:
                    continue
                await self._ask(ctx, agent, scope, limit, amount)

    async def _ask(
        self, ctx: RunContext, agent: str, scope: str, limit: Decimal, amount: Decimal
    ) -> None:
        spent = self.spent.get(scope, ZERO)
        standing = (
            f"is overrun by ${spent - limit} (spent ${spent})"
            if spent > limit
            else f"has ${limit - spent} left"
        )
        ctx.emit(
            "budget.exceeded",
            f"{agent} needs up to ${amount} but the {scope} budget ${limit} {standing}: "
            "approve the `budget` gate to raise it",
            agent=agent,
            scope=scope,
            limit_usd=str(limit),
            spent_usd=str(spent),
            needed_usd=str(amount),
        )
        payload = await ctx.wait_for_signal(GATE, kind=WaitKind.GATE)
        self.gates += 1
        decision = payload.get("decision") if isinstance(payload, dict) else None
        if decision != GateDecision.APPROVE:
            comment = payload.get("comment") if isinstance(payload, dict) else None
            reason = f" ({comment})" if comment else ""
            raise BudgetExceeded(
                f"the {scope} budget of ${limit} was not raised: {decision}{reason}"
            )
        try:
            asked = _decimal(payload.get("budget_usd"), "budget_usd")
        except InvalidInput as error:  # ask again rather than fail the run over a typo
            ctx.emit("budget.invalid", f"{error}; the budget gate opens again", scope=scope)
            return
        new = asked if asked is not None else limit + max(limit, amount)
        self.raised[scope] = max(new, self.raised.get(scope, ZERO))
        ctx.emit(
            "budget.raised",
            f"{scope} budget raised from ${limit} to ${self.raised[scope]}",
            scope=scope,
            limit_usd=str(self.raised[scope]),
        )

    def start(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def finish(self, scopes: list[str], reserved: Decimal, cost: Decimal | None) -> None:
        """Release a call's reservation and charge what it cost."""
        for scope in scopes:
            self.reserved[scope] = self.reserved.get(scope, ZERO) - reserved
            self.spent[scope] = self.spent.get(scope, ZERO) + (cost or ZERO)
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    def overruns(self, scopes: list[str]) -> list[tuple[str, Decimal, Decimal]]:
        """(scope, limit, spent) of the scopes a finished call took past their limit, each
        said once per limit: a provider may report more tokens than were reserved."""
        out = []
        for scope in scopes:
            limit = self._limits.get(scope)
            spent = self.spent.get(scope, ZERO)
            if limit is not None and spent > limit and (scope, limit) not in self._reported:
                self._reported.add((scope, limit))
                out.append((scope, limit, spent))
        return out

    def snapshot(self) -> dict[str, Any]:
        """What a model step records so that a replay rebuilds this ledger."""
        return {"gates": self.gates, "raised": {k: str(v) for k, v in self.raised.items()}}

    # --- a replayed call ----------------------------------------------------------

    async def replay(
        self, ctx: RunContext, agent: str, cost: Decimal | None, snapshot: dict[str, Any] | None
    ) -> None:
        """Account for a journaled call: its limits, its gate decisions and its cost."""
        if snapshot:
            while self.gates < int(snapshot.get("gates", 0)):
                await ctx.wait_for_signal(GATE, kind=WaitKind.GATE)  # journaled: returns at once
                self.gates += 1
            for scope, value in snapshot.get("raised", {}).items():
                self.raised[scope] = max(Decimal(value), self.raised.get(scope, ZERO))
        charge = cost or ZERO
        for scope in ("run", f"agent:{agent}"):
            self.spent[scope] = self.spent.get(scope, ZERO) + charge
