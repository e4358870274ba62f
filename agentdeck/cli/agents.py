"""`agentdeck agents ...`: list the agents and skills, check an agents file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck
from agentdeck.deck.agents import agent_json, check_agents_file
from agentdeck.domain.errors import AgentdeckError
from agentdeck.settings import Settings

agents_app = typer.Typer(
    help="Agents and skills: list them, check an agents file.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@agents_app.command("list")
def list_agents(
    role: Annotated[str | None, typer.Option(help="Only agents of this role.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON list, one object per agent.")
    ] = False,
) -> None:
    """Every agent (agents file and database), and the skills library with who uses each skill."""

    async def read(deck: Deck) -> tuple[list[dict[str, object]], list[tuple[str, str, str]], str]:
        agents = [agent_json(a) for a in await deck.agents.list(role)]
        uses = [
            (u.skill.name, u.skill.title, ", ".join(u.agents))
            for u in await deck.agents.skill_uses()
        ]
        return agents, uses, deck.llm.status()

    agents, uses, status = with_deck(read)
    if as_json:
        print(json.dumps(agents))
        return
    table = Table("name", "role", "models (first preferred)", "skills", "tools", "budget", "source")
    for a in agents:
        budget = f"${a['budget_usd']}" if a["budget_usd"] is not None else ""
        source = "file (read-only)" if a["read_only"] else "database"
        table.add_row(
            str(a["name"]),
            str(a["role"]),
            "\n".join(a["models"]),  # type: ignore[arg-type]
            ", ".join(a["skills"]),  # type: ignore[arg-type]
            ", ".join(a["tools"]),  # type: ignore[arg-type]
            budget,
            source,
        )
    console.print(table)
    skills = Table("skill", "title", "used by")
    for name, title, users in uses:
        skills.add_row(name, title, users or "-")
    console.print(skills)
    console.print(status, highlight=False)


@agents_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="The agents.yaml to validate.")]) -> None:
    """Validate an agents file without starting anything: exit 0 if usable, 1 if not."""
    settings = Settings()
    try:
        specs = check_agents_file(file, settings)
    except AgentdeckError as error:
        errors.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    names = ", ".join(s.name for s in specs)
    console.print(
        f"{file}: {len(specs)} agent(s) OK: {names}", markup=False, highlight=False, soft_wrap=True
    )
