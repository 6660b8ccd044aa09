"""ConcurrentListing over real HTTP: list order, bounded pages in memory, ranges, 429s absorbed, progress."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.listing import paging
from airflow_provider_logto.testing import LogtoEmulator
from tests.export.conftest import add_users


def requested_pages(emulator: LogtoEmulator) -> list[int]:
    return [int(entry.query["page"][0]) for entry in emulator.journal.entries(path="/api/users")]


def test_items_come_once_each_in_list_order(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    ids = add_users(emulator, 1234)
    emulator.set_latency(0.005)
    listing = hook.management_paginate_concurrently("/users", page_size=50, max_concurrency=6)
    assert [user["id"] for user in listing] == ids[::-1]  # newest first, like Logto
    summary = listing.summary()
    assert (summary["count"], summary["pages"], summary["possibly_missed"]) == (1234, 25, 0)
    assert sorted(requested_pages(emulator)[:-1]) == list(range(1, 26))  # each page once, then page 1 recounted


def test_no_more_pages_requested_than_the_window(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    add_users(emulator, 600)
    listing = hook.management_paginate_concurrently("/users", page_size=10, max_concurrency=2)
    window = listing.window
    consumed = 0
    for number, _ in enumerate(listing, start=1):
        if number % 10 == 0:
            consumed += 1
            ahead = max(requested_pages(emulator)) - consumed
            assert ahead <= window, f"{ahead} pages requested ahead of the consumer (window {window})"
    assert consumed == 60 and window == 4


def test_a_page_range_reads_only_those_pages(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    ids = add_users(emulator, 95)[::-1]
    listing = hook.management_paginate_concurrently("/users", page_size=10, first_page=3, last_page=5)
    assert [user["id"] for user in listing] == ids[20:50]
    assert set(requested_pages(emulator)) == {1, 3, 4, 5}  # page 1 is the baseline for created users


def test_the_list_growing_past_the_first_total_is_read_to_the_end(emulator: LogtoEmulator,
                                                                  hook: LogtoHook) -> None:
    add_users(emulator, 100)
    listing = hook.management_paginate_concurrently("/users", page_size=10, max_concurrency=1)
    items = iter(listing)
    first = [next(items) for _ in range(10)]
    add_users(emulator, 25, prefix="late")  # shift 25 users past the 10 pages Total-Number announced
    rest = list(items)
    assert {user["id"] for user in first + rest} >= {user["id"] for user in emulator.state.users.values()
                                                     if not user["username"].startswith("late")}
    summary = listing.summary()
    assert summary["created_during_read"] == 25 and summary["duplicates_skipped"] > 0


def test_429s_are_absorbed_and_the_concurrency_backs_off(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    add_users(emulator, 3000)
    emulator.enable_rate_limit(capacity=10, per_seconds=1)
    listing = hook.management_paginate_concurrently("/users", max_concurrency=8)
    assert sum(1 for _ in listing) == 3000
    requests = listing.summary()["requests"]
    throttled = [entry for entry in emulator.journal.entries(path="/api/users") if entry.status == 429]
    assert requests["throttled"] == len(throttled) > 0
    assert requests["lowest_concurrency"] < 8


def test_a_known_rate_is_never_exceeded(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    add_users(emulator, 1500)
    hook.get_access_token()  # the token request counts against the bucket too
    emulator.enable_rate_limit(capacity=5, per_seconds=0.5)
    listing = hook.management_paginate_concurrently("/users", max_concurrency=8, max_requests_per_second=9)
    assert sum(1 for _ in listing) == 1500
    assert [entry.status for entry in emulator.journal.entries(path="/api/users")].count(429) == 0


def test_progress_is_logged_with_rate_and_eta(emulator: LogtoEmulator, hook: LogtoHook,
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(paging, "PROGRESS_INTERVAL", 0.0)
    add_users(emulator, 300)
    with caplog.at_level(logging.INFO, logger="airflow_provider_logto.listing.paging"):
        list(hook.management_paginate_concurrently("/users", page_size=100))
    lines = [record.getMessage() for record in caplog.records if "items/s" in record.getMessage()]
    assert lines and "of ~300" in lines[0] and "page(s)" in lines[0] and "ETA" in lines[0]


@pytest.mark.parametrize(("options", "named"), [
    ({"page_size": 101}, "page_size"), ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_requests_per_second": -1}, "max_requests_per_second"), ({"first_page": 0}, "first_page"),
    ({"first_page": 4, "last_page": 2}, "last_page"), ({"params": {"page": 2}}, "page"),
])
def test_bad_arguments_fail_before_any_request(emulator: LogtoEmulator, hook: LogtoHook, options: dict,
                                               named: str) -> None:
    with pytest.raises(LogtoUsageError, match=named):
        hook.management_paginate_concurrently("/users", **options)
    assert emulator.journal.entries() == []


def test_a_listing_is_iterated_once(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    listing = hook.management_paginate_concurrently("/users")
    with pytest.raises(LogtoUsageError, match="summary"):
        listing.summary()
    assert list(listing) == []
    with pytest.raises(LogtoUsageError, match="once"):
        list(listing)
