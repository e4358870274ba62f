"""new_id: unique, sortable by creation, monotonic within a process — threads included."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator

import pytest

from agentdeck.domain.ids import new_id

ID_PATTERN = re.compile(r"^run_[0-9a-hjkmnp-tv-z]{26}$")


def test_new_id_has_the_prefix_and_26_crockford_characters() -> None:
    for _ in range(100):
        assert ID_PATTERN.match(new_id("run"))
    assert new_id("art").startswith("art_")


def test_new_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [new_id("run") for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_new_ids_with_different_prefixes_share_one_monotonic_sequence() -> None:
    ids = [new_id("run" if i % 2 else "art") for i in range(2_000)]
    suffixes = [i.split("_", 1)[1] for i in ids]
    assert suffixes == sorted(suffixes)
    assert len(set(suffixes)) == len(suffixes)


@pytest.fixture
def busy_thread_switching() -> Iterator[None]:
    """Switch threads as often as possible so races in shared state show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_thread_switching")
def test_new_id_is_unique_and_monotonic_when_called_from_many_threads() -> None:
    # Deck._retry_tx calls new_id on a database thread while the event loop
    # thread may be calling it for a submit.
    per_thread: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(per_thread))

    def make(out: list[str]) -> None:
        start.wait()
        out.extend(new_id("run") for _ in range(10_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in per_thread for i in out]
    assert len(set(every)) == len(every)
    assert all(out == sorted(out) for out in per_thread)
