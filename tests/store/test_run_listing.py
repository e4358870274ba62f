"""Listing runs: filters by status, workflow and text; cursor pages return every run once."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.deck import Deck, RunFilter, Submission
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.runs import Run
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("alpha")
    async def alpha(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    @registry.workflow("Beta-Build")
    async def beta(ctx: RunContext, inputs: dict[str, Any]) -> None:
        if inputs.get("fail"):
            raise RuntimeError(f"disk quota exceeded on {inputs['fail']}")

    return registry


async def every_page(deck: Deck, where: RunFilter | None, limit: int) -> list[list[Run]]:
    pages: list[list[Run]] = []
    cursor: str | None = None
    while True:
        page = await deck.list(where, cursor=cursor, limit=limit)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert page.next_cursor == page.items[-1].id
        cursor = page.next_cursor


async def test_cursor_pages_return_every_run_exactly_once_newest_first(deck: Deck) -> None:
    runs = await deck.submit_many([Submission("alpha", {"n": n}) for n in range(23)])
    pages = await every_page(deck, None, limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [r.id for page in pages for r in page]
    assert listed == [r.id for r in reversed(runs)]


async def test_exact_multiple_of_the_page_size_ends_without_an_empty_page(deck: Deck) -> None:
    await deck.submit_many([Submission("alpha", {"n": n}) for n in range(10)])
    pages = await every_page(deck, None, limit=5)
    assert [len(p) for p in pages] == [5, 5]


async def test_filters_narrow_by_status_workflow_and_text(deck: Deck) -> None:
    alphas = await deck.submit_many([Submission("alpha", {"n": n}) for n in range(6)])
    betas = await deck.submit_many(
        [Submission("Beta-Build", {"fail": "vol-7"}), Submission("Beta-Build", {})]
    )
    for run in alphas[:2]:
        await deck.cancel(run.id)
    worker = deck.worker(concurrency=10)
    await worker.start(loops=False)
    await deck.pause(alphas[2].id)
    assert await worker.drain() == 5

    async def ids(where: RunFilter) -> set[str]:
        return {r.id for page in await every_page(deck, where, limit=2) for r in page}

    assert await ids(RunFilter(statuses=("cancelled",))) == {r.id for r in alphas[:2]}
    assert await ids(RunFilter(statuses=("paused", "failed"))) == {alphas[2].id, betas[0].id}
    assert await ids(RunFilter(workflow="Beta-Build")) == {r.id for r in betas}
    assert await ids(RunFilter(workflow="beta-build")) == set()  # the name is exact
    assert await ids(RunFilter(text="QUOTA")) == {betas[0].id}  # error text, any case
    assert await ids(RunFilter(text="beta-b")) == {r.id for r in betas}
    assert await ids(RunFilter(text=alphas[4].id[-10:].upper())) == {alphas[4].id}
    both = RunFilter(statuses=("succeeded",), workflow="alpha")
    assert await ids(both) == {r.id for r in alphas[3:]}


async def test_list_by_retry_of_finds_the_retries_of_a_run(deck: Deck) -> None:
    original = await deck.submit("alpha")
    await deck.cancel(original.id)
    retries = [await deck.retry(original.id) for _ in range(3)]
    listed = (await deck.list(RunFilter(retry_of=original.id))).items
    assert [r.id for r in listed] == [r.id for r in reversed(retries)]


async def test_list_rejects_a_bad_limit_or_status(deck: Deck) -> None:
    for limit in (0, 501):
        with pytest.raises(InvalidInput) as raised:
            await deck.list(limit=limit)
        assert raised.value.field == "limit"
    with pytest.raises(InvalidInput) as raised:
        await deck.list(RunFilter(statuses=("queued", "exploded")))
    assert raised.value.field == "status"


async def test_text_filter_treats_like_wildcards_as_plain_characters(deck: Deck) -> None:
    await deck.submit_many([Submission("alpha"), Submission("Beta-Build")])
    # no id, workflow or error contains "%" or "a_p"; as LIKE patterns they match "alpha"
    assert (await deck.list(RunFilter(text="%"))).items == []
    assert (await deck.list(RunFilter(text="a_p"))).items == []
