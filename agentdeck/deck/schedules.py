"""Schedules: any workflow submitted on a cron-like spec, `deck.schedules`.

    await deck.schedules.add(name, workflow, spec, inputs=None, enabled=True)  # -> ScheduleRow
    await deck.schedules.list()                       # -> list[ScheduleRow], by name
    await deck.schedules.get(id_or_name)              # -> ScheduleRow, NotFound
    await deck.schedules.remove(id_or_name)
    await deck.schedules.enable(id_or_name) / disable(id_or_name)   # -> ScheduleRow

Errors: InvalidInput (422) names the field (a bad spec, an unknown workflow, inputs the
workflow refuses); NotFound (404); Conflict (409) for a name already used.
Workers fire due schedules (engine/schedules.py); times are UTC.
"""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from agentdeck.deck.submissions import Submission, check_agents, run_row
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.domain.schedules import next_due, parse_spec
from agentdeck.store import schedules as queries
from agentdeck.store.schedules import ScheduleRow

if TYPE_CHECKING:
    from agentdeck.deck import Deck

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class Schedules:
    """Add, list, remove, enable and disable schedules."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck

    async def add(
        self,
        name: str,
        workflow: str,
        spec: str,
        inputs: dict[str, Any] | None = None,
        *,
        enabled: bool = True,
    ) -> ScheduleRow:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInput(
                "name must be 1 to 100 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit",
                field="name",
            )
        parsed = parse_spec(spec)
        now = self._deck.clock.now()
        # the checks a submit makes, now rather than at each firing
        checked = run_row(self._deck.registry, now, Submission(workflow, inputs or {}))
        await check_agents(self._deck.agents, self._deck.registry, [checked])
        row = {
            "id": new_id("sched"),
            "name": name,
            "workflow": checked["workflow"],
            "inputs": checked["inputs"],
            "spec": parsed.text,
            "enabled": bool(enabled),
            "next_due_at": next_due(parsed, now),
            "last_run_id": None,
            "created_at": now,
        }
        try:
            return await self._deck.db.write(lambda conn: queries.insert_schedule(conn, row))
        except IntegrityError:
            raise Conflict(f"a schedule named {name!r} exists already") from None

    async def list(self) -> builtins.list[ScheduleRow]:
        return await self._deck.db.read(queries.list_schedules)

    async def get(self, key: str) -> ScheduleRow:
        """By id or name; NotFound when neither matches."""
        found = None
        if isinstance(key, str) and "\x00" not in key:
            found = await self._deck.db.read(lambda conn: queries.find_schedule(conn, key))
        if found is None:
            raise NotFound(f"no schedule {key!r}")
        return found

    async def remove(self, key: str) -> None:
        row = await self.get(key)
        await self._deck.db.write(lambda conn: queries.delete_schedule(conn, row.id))

    async def enable(self, key: str) -> ScheduleRow:
        return await self._set_enabled(key, True)

    async def disable(self, key: str) -> ScheduleRow:
        return await self._set_enabled(key, False)

    async def _set_enabled(self, key: str, enabled: bool) -> ScheduleRow:
        row = await self.get(key)
        # enabling again starts from now: the due times missed while disabled do not fire
        due = next_due(parse_spec(row.spec), self._deck.clock.now()) if enabled else row.next_due_at
        await self._deck.db.write(lambda conn: queries.set_enabled(conn, row.id, enabled, due))
        return await self.get(row.id)


def schedule_json(row: ScheduleRow) -> dict[str, Any]:
    """A schedule as the API answers it."""
    return {
        "id": row.id,
        "name": row.name,
        "workflow": row.workflow,
        "inputs": row.inputs,
        "spec": row.spec,
        "enabled": row.enabled,
        "next_due_at": row.next_due_at.isoformat(),
        "last_run_id": row.last_run_id,
        "created_at": row.created_at.isoformat(),
    }
