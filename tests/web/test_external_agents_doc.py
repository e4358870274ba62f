"""docs/external-agents.md, run as written: every request of its ```http blocks is sent, in
order, to a real server; the answer must have the documented status, the documented
fields and values (ids and times aside), and every documented timestamp must parse."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.web.app import create_app
from tests.web.live_server import serving
from tests.web.plan_fixtures import open_plan_deck

DOC = Path(__file__).resolve().parents[2] / "docs" / "external-agents.md"
ADMIN = "admin-token-of-the-doc-test"
ID = re.compile(r"\b(run|xa|ls|adx)_[0-9a-z.]+")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
UNCOMPARED = {"message", "token"}  # texts that name ids or are secret


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any
    line: int


def exchanges(text: str) -> list[Exchange]:
    """The doc's ```http blocks, a request each followed by its answer."""
    blocks = [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"```http\n(.*?)```", text, re.S)
    ]
    out = []
    for (line, request), (_, response) in zip(blocks[::2], blocks[1::2], strict=True):
        head, _, body = request.partition("\n\n")
        first, *header_lines = head.strip().splitlines()
        method, path = first.split()
        headers = dict(h.split(": ", 1) for h in header_lines)
        status_line, _, answer = response.partition("\n\n")
        assert status_line.startswith("HTTP/1.1 "), f"line {line}: an answer must follow"
        out.append(
            Exchange(
                method,
                path,
                headers,
                json.loads(body) if body.strip() else None,
                int(status_line.split()[1]),
                json.loads(answer) if answer.strip() else None,
                line,
            )
        )
    return out


def check_shape(doc: Any, real: Any, where: str) -> None:
    """What the doc shows is in the real answer: keys, list lengths, values but ids/times."""
    if isinstance(doc, dict):
        assert isinstance(real, dict), f"{where}: {real!r} is not an object"
        for key, value in doc.items():
            assert key in real, f"{where}.{key} is documented but not answered"
            if key not in UNCOMPARED:
                check_shape(value, real[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(real, list), f"{where}: {real!r} is not a list"
        assert len(real) == len(doc), f"{where}: {real!r}"
        for n, (d, r) in enumerate(zip(doc, real, strict=True)):
            check_shape(d, r, f"{where}[{n}]")
    elif isinstance(doc, str) and TIMESTAMP.match(doc):
        datetime.fromisoformat(doc)  # the documented example is a real time
        datetime.fromisoformat(real)
    elif isinstance(doc, str) and ID.search(doc):
        assert isinstance(real, str), f"{where}: {real!r}"
        assert ID.search(real), f"{where}: {real!r} is not an id"
    else:
        assert doc == real, f"{where}: documented {doc!r}, answered {real!r}"


def substitute(value: Any, names: dict[str, str]) -> Any:
    text = json.dumps(value) if not isinstance(value, str) else value
    for name, found in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"${name}", found)
    assert "$" not in text.replace("$ ", ""), f"an unknown $NAME in {text}"
    return json.loads(text) if not isinstance(value, str) else text


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the protocol tests run on both databases; this reads the doc


@pytest.fixture
async def deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Deck]:
    deck = await open_plan_deck(
        database_url,
        monkeypatch,
        tmp_path,
        token=ADMIN,
        task_lease_interval=timedelta(seconds=60),  # the doc's interval_s
    )
    await deck.worker(4).start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.mark.timeout(120)
async def test_every_documented_exchange_answers_as_documented(deck: Deck) -> None:
    steps = exchanges(DOC.read_text())
    assert len(steps) >= 12
    names = {"AGENTDECK_TOKEN": ADMIN}
    async with serving(create_app(deck)) as url, httpx.AsyncClient(base_url=url) as http:
        for step in steps:
            where = f"docs/external-agents.md line {step.line}: {step.method} {step.path}"
            if step.path.endswith("/resolve"):  # a person resolves once the run waits
                await deck.wait(names["RUN_ID"], 30)
            response = await http.request(
                step.method,
                substitute(step.path, names),
                headers={k: substitute(v, names) for k, v in step.headers.items()},
                json=None if step.body is None else substitute(step.body, names),
                timeout=60,
            )
            assert response.status_code == step.status, f"{where}: {response.text}"
            real = response.json() if response.content else None
            if step.answer is not None:
                check_shape(step.answer, real, where)
            _remember(step, real, names)

        run = await deck.wait(names["RUN_ID"], 30)
        assert run.status == "succeeded", run.error  # T2 marked done by the person
        tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
        # the completed output is kept whole on the task; its dependents got its JSON text
        assert tasks["T1"].output["data"] == {"guests": 12, "list": ["ana", "bo"]}
        assert tasks["T2"].output is not None


def _remember(step: Exchange, real: Any, names: dict[str, str]) -> None:
    if not isinstance(real, dict):
        return
    if "token" in real and str(real.get("id", "")).startswith("xa_"):
        names.update(AGENT_ID=real["id"], AGENT_TOKEN=real["token"])
    elif "lease" in real:
        names.update(TASK_ID=real["task"]["id"], LEASE_ID=real["lease"]["id"])
    elif step.method == "POST" and step.path == "/api/runs":
        names["RUN_ID"] = real["id"]


async def test_dependents_get_a_long_output_as_json_text_cut_at_4000_characters(
    deck: Deck,
) -> None:
    """What the doc says of outputs, with one over the limit."""
    async with serving(create_app(deck)) as url, httpx.AsyncClient(base_url=url) as http:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        agent = (
            await http.post(
                "/api/external-agents", json={"name": "a", "capabilities": ["x"]}, headers=admin
            )
        ).json()
        mine = {"Authorization": f"Bearer {agent['token']}"}
        plan = [
            {"id": "A", "title": "Big", "role": "x"},
            {"id": "B", "title": "Uses it", "role": "x", "prerequisites": ["A"]},
        ]
        run = await deck.submit("plan", {"plan": plan, "dispatch": "external"})
        work = (await http.get(f"/api/agents/{agent['id']}/work?wait=30", headers=mine)).json()
        big = {"rows": ["é" * 10 for _ in range(1000)]}
        report = {"type": "completed", "lease_id": work["lease"]["id"], "output": big}
        done = await http.post(work["report_url"], json=report, headers=mine)
        assert done.status_code == 200, done.text
        after = (await http.get(f"/api/agents/{agent['id']}/work?wait=30", headers=mine)).json()

        [given] = after["inputs"]["prerequisites"]
        assert given["output"] == json.dumps(big)[:4000]
        assert "\\u00e9" in given["output"]  # non-ASCII escaped, as documented
        whole = (await http.get(f"/api/tasks/{run.id}:A", headers=admin)).json()
        assert whole["output"]["data"] == big


async def test_the_api_reference_says_agent_routes_always_need_the_agent_token(
    deck: Deck,
) -> None:
    app = create_app(deck)
    schema = app.openapi()
    work = schema["paths"]["/api/agents/{agent_id}/work"]["get"]["responses"]["401"]
    report = schema["paths"]["/api/tasks/{task_id}/events"]["post"]["responses"]["401"]
    for documented in (work, report):
        assert "only when AGENTDECK_TOKEN" not in documented["description"]
        assert "agent's token" in documented["description"]
