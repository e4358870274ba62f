"""`python -m agentdeck.cli` runs the `agentdeck` command."""

from agentdeck.cli.main import app

app()
