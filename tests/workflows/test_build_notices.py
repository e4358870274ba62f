"""Budget alerts at 50 / 80 / 100 % and the Slack-compatible webhook, with a local receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentdeck.deck import Deck
from tests.llm.decks import drain
from tests.sample_repo import make_sample_repo
from tests.workflows.test_build import FAST_TESTS


class Receiver(ThreadingHTTPServer):
    """Collects the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def priced_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each simulated call costs one cent, as a provider's would."""
    monkeypatch.setattr("agentdeck.llm.calls.cost_of", lambda *_: Decimal("0.01"))


@pytest.mark.usefixtures("priced_calls")
async def test_budget_alerts_and_webhook_notices_are_sent_once(
    deck: Deck, tmp_path: Path, receiver: Receiver
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    inputs = {
        "repository": str(repo),
        "request": "Add agents: Scout",
        "worktrees_dir": str(tmp_path / "worktrees"),
        "test_command": FAST_TESTS,
        "budget_usd": 0.06,
        "webhook_url": receiver.url,
        "diff_approval": False,
    }
    run = await deck.submit("build", inputs)
    await drain(deck)
    run = await deck.get(run.id)
    assert run.waiting_on == "plan"
    await deck.decide(run.id, "plan", "approve")
    await drain(deck)
    run = await deck.get(run.id)
    assert run.status == "succeeded", run.error

    # review 1¢, plan 2¢, then two turns (tools, answer) per task: the class 4¢ (50 %),
    # its test 6¢ (80 and 100 %)
    alerts = [e.data for e in await deck.events(run.id) if e.kind == "build.budget_alert"]
    assert [(a["threshold"], a["spent_usd"]) for a in alerts] == [
        (50, "0.04"),
        (80, "0.06"),
        (100, "0.06"),
    ]
    events = [b["agentdeck"]["event"] for b in receiver.bodies]
    assert events == ["gate", "budget", "budget", "budget", "finished"]
    assert all(isinstance(b["text"], str) and b["blocks"] for b in receiver.bodies)
    assert receiver.bodies[0]["agentdeck"]["gate"] == "plan"
    assert receiver.bodies[-1]["agentdeck"]["branch"] == f"agentdeck/{run.id}"


async def test_a_failed_build_is_announced(deck: Deck, tmp_path: Path, receiver: Receiver) -> None:
    inputs = {
        "repository": str(tmp_path),  # not a git repository
        "request": "Add agents: Scout",
        "webhook_url": receiver.url,
    }
    run = await deck.submit("build", inputs)
    await drain(deck)
    run = await deck.get(run.id)
    assert run.status == "failed"
    assert "is not the top of a git repository" in (run.error or "")
    assert [b["agentdeck"]["event"] for b in receiver.bodies] == ["failed"]
