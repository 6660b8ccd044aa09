"""Users created and deleted while an export runs: nothing twice in the file, misses never under-reported."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.listing.consistency import ListingConsistency
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.export.conftest import add_users
from tests.helpers import HookFactory


def true_misses(start: set[str], end: set[str], exported: list[str]) -> int:
    """Users that existed for the whole export but are not in the file."""
    return len((start & end) - set(exported))


@pytest.mark.parametrize("max_concurrency", [1, 8])
def test_changes_during_a_concurrent_export(emulator: LogtoEmulator, management_app: M2MApp,
                                            connect: HookFactory, tmp_path: Path, max_concurrency: int) -> None:
    connect(management_app)
    add_users(emulator, 3000)
    emulator.set_latency(0.01)
    start = set(emulator.state.users)
    done = threading.Event()

    def churn() -> None:
        rng = random.Random(max_concurrency)
        number = 0
        while not done.is_set():
            for _ in range(3):
                emulator.add_user(f"new{number}")
                number += 1
            for victim in rng.sample(sorted(emulator.state.users), 3):
                emulator.state.delete_user(victim)
            time.sleep(0.01)

    mutator = threading.Thread(target=churn)
    mutator.start()
    try:
        result = LogtoExportOperator(task_id="x", destination=str(tmp_path / "u.jsonl"), page_size=50,
                                     max_concurrency=max_concurrency).execute({})
    finally:
        done.set()
        mutator.join()
    exported = [json.loads(line)["id"] for line in (tmp_path / "u.jsonl").read_text().splitlines()]
    assert len(exported) == len(set(exported)) == result["count"]
    assert result["created_during_read"] > 0 and result["deleted_during_read"] > 0
    missed = true_misses(start, set(emulator.state.users), exported)
    print({key: result[key] for key in ("count", "duplicates_skipped", "possibly_missed", "created_during_read",
                                        "deleted_during_read")}, "true misses:", missed)
    assert result["possibly_missed"] >= missed
    assert result["duplicates_skipped"] + missed > 0, "the churn never disturbed the read"


def test_deletions_between_pages_are_counted_as_possible_misses(emulator: LogtoEmulator,
                                                                 hook: LogtoHook) -> None:
    ids = add_users(emulator, 100)[::-1]
    listing = hook.management_paginate_concurrently("/users", page_size=10, max_concurrency=1)
    items = iter(listing)
    seen = [next(items)["id"] for _ in range(30)]  # pages 1-3 written; at most 2 more pages already read
    for victim in ids[:5]:
        emulator.state.delete_user(victim)  # every later page shifts forward by 5: users fall in the gaps
    seen += [user["id"] for user in items]
    missed = true_misses(set(ids), set(emulator.state.users), seen)
    summary = listing.summary()
    assert missed == 5 and summary["deleted_during_read"] == 5
    assert summary["possibly_missed"] >= missed and len(seen) == len(set(seen))


def test_without_changes_the_export_is_complete_and_says_so(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    add_users(emulator, 250)
    listing = hook.management_paginate_concurrently("/users", page_size=20)
    assert len(list(listing)) == 250
    summary = listing.summary()
    assert (summary["possibly_missed"], summary["duplicates_skipped"], summary["created_during_read"]) == (0, 0, 0)


def test_ties_in_created_at_are_kept_and_repeats_dropped() -> None:
    page = [{"id": "c", "createdAt": 3}, {"id": "b", "createdAt": 2}, {"id": "a", "createdAt": 2}]
    consistency = ListingConsistency(page, 3, window=2, newest_first=True)
    kept = [item["id"] for item in [*page, {"id": "a", "createdAt": 2}, {"id": "z", "createdAt": 2},
                                     {"id": "c", "createdAt": 3}, {"id": "y", "createdAt": 1}]
            if consistency.accept(item)]
    assert kept == ["c", "b", "a", "z", "y"] and consistency.duplicates_skipped == 2


def test_lists_without_order_are_deduplicated_by_id() -> None:
    page = [{"id": "r1", "name": "x"}, {"id": "r2", "name": "y"}]
    consistency = ListingConsistency(page, 2, window=2, newest_first=True)
    assert not consistency.ordered
    assert [consistency.accept(item) for item in [*page, page[0], {"id": "r3"}]] == [True, True, False, True]


def test_creations_are_counted_by_created_at_and_position_within_a_millisecond() -> None:
    first = [{"id": "n", "createdAt": 5}, {"id": "m", "createdAt": 5}]
    consistency = ListingConsistency(first, 4, window=1, newest_first=True)
    head = [{"id": "y", "createdAt": 6}, {"id": "x", "createdAt": 5}, {"id": "n", "createdAt": 5},
            {"id": "l", "createdAt": 5}]  # y and x are new; l is an old user of the same millisecond as n
    assert consistency.created_since_start(head) == 2
    for item in first:
        consistency.accept(item)
    consistency.observe_page(2, [{"id": "l", "createdAt": 5}], 6)
    report = consistency.finish(lambda page: (head, 6), page_size=10)
    assert (report.created_during_read, report.deleted_during_read) == (2, 0)
