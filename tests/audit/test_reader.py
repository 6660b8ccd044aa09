"""The audit-log reader over real HTTP against the emulator: each entry of a window once, in order, ties at page
boundaries included, located without reading the newer entries, at exactly one request when the window is empty."""

from __future__ import annotations

import random

import pytest

from airflow_provider_logto.audit.reader import AuditLogQuery, read_window
from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator
from tests.audit.conftest import BASE_MS, expected, keys, log_requests, write


@pytest.mark.parametrize("max_concurrency", [1, 8])
def test_each_entry_once_in_order_with_ties_at_page_boundaries(emulator: LogtoEmulator, hook: LogtoHook,
                                                                rng: random.Random, max_concurrency: int) -> None:
    # about 5 entries per millisecond, so nearly every page boundary splits a millisecond, plus groups of 40
    stamps = [BASE_MS + rng.randrange(600) for _ in range(3000)]
    stamps += [BASE_MS + 300] * 40 + [BASE_MS + 301] * 40
    entries = write(emulator, stamps)
    start, end = BASE_MS + 100, BASE_MS + 500
    read = read_window(hook, AuditLogQuery(), start, end, max_concurrency=max_concurrency)
    got = keys(read)
    assert got == expected(entries, start, end)  # each once, sorted by (createdAt, id), none outside
    assert read.possibly_missed == 0
    assert read.requests == log_requests(emulator)


def test_a_window_a_week_back_is_located_without_reading_the_newer_entries(emulator: LogtoEmulator,
                                                                           hook: LogtoHook) -> None:
    # 30,000 entries over 8 days (300 pages); the window is one hour a week back (about 160 entries, 2 pages)
    day = 86_400_000
    entries = write(emulator, range(BASE_MS, BASE_MS + 8 * day, 8 * day // 30_000))
    start = BASE_MS + day
    read = read_window(hook, AuditLogQuery(), start, start + 3_600_000)
    assert keys(read) == expected(entries, start, start + 3_600_000)
    assert read.requests <= 20, read.requests  # a bisection, not 300 pages


def test_nothing_at_or_after_start_costs_exactly_one_request(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    write(emulator, range(BASE_MS, BASE_MS + 500))
    later = 4_000_000_000_000  # after every entry, the emulator's own included
    read = read_window(hook, AuditLogQuery(), later, later + 3_600_000)
    assert list(read) == []
    assert read.requests == 1 == log_requests(emulator)


def test_an_empty_log_costs_one_request(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    read = read_window(hook, AuditLogQuery(log_key="Interaction.Create"), BASE_MS, BASE_MS + 1000)
    assert list(read) == [] and read.requests == 1


def test_a_millisecond_larger_than_a_page(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    entries = write(emulator, [BASE_MS + 10] * 50 + [BASE_MS + 11] * 250 + [BASE_MS + 12] * 50)
    read = read_window(hook, AuditLogQuery(), BASE_MS, BASE_MS + 100)
    got = keys(read)
    want = expected(entries, BASE_MS, BASE_MS + 100)
    assert len(got) == len(set(got)) and got == sorted(got)
    assert len(want) - len(got) <= read.possibly_missed  # never more missing than reported


def test_filters_are_logtos(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    write(emulator, range(BASE_MS, BASE_MS + 300), application_id="app-a")
    wanted = write(emulator, range(BASE_MS, BASE_MS + 300), key="Interaction.Create", application_id="app-b",
                   user_id="user-1")
    for query in (AuditLogQuery(log_key="Interaction.Create"), AuditLogQuery(application_id="app-b"),
                  AuditLogQuery(user_id="user-1"),
                  AuditLogQuery(log_key="Interaction.Create", application_id="app-b", user_id="user-1")):
        assert keys(read_window(hook, query, BASE_MS, BASE_MS + 300)) == expected(wanted, BASE_MS, BASE_MS + 300)
    assert list(read_window(hook, AuditLogQuery(log_key="ExchangeTokenBy"), BASE_MS, BASE_MS + 300)) == []


def test_adjacent_windows_compose(emulator: LogtoEmulator, hook: LogtoHook, rng: random.Random) -> None:
    entries = write(emulator, [BASE_MS + rng.randrange(1000) for _ in range(1500)])
    pieces = [keys(read_window(hook, AuditLogQuery(), lo, lo + 100)) for lo in range(BASE_MS, BASE_MS + 1000, 100)]
    assert [key for piece in pieces for key in piece] == expected(entries, BASE_MS, BASE_MS + 1000)


@pytest.mark.parametrize(("start", "end", "message"), [
    (BASE_MS, BASE_MS, r"end \(1767225600000\) must be after start"),
    (BASE_MS + 1, BASE_MS, "must be after start"),
    (-1, BASE_MS, "start_ms must be epoch milliseconds"),
    (float(BASE_MS), BASE_MS + 1, "start_ms must be epoch milliseconds"),
    (BASE_MS, "tomorrow", "end_ms must be epoch milliseconds"),
])
def test_bad_windows_fail_before_any_request(emulator: LogtoEmulator, hook: LogtoHook, start: object, end: object,
                                             message: str) -> None:
    with pytest.raises(LogtoUsageError, match=message):
        read_window(hook, AuditLogQuery(), start, end)  # type: ignore[arg-type]
    with pytest.raises(LogtoUsageError, match="max_concurrency"):
        read_window(hook, AuditLogQuery(), BASE_MS, BASE_MS + 1, max_concurrency=0)
    assert log_requests(emulator) == 0


def test_a_read_is_iterated_once(emulator: LogtoEmulator, hook: LogtoHook) -> None:
    read = read_window(hook, AuditLogQuery(), BASE_MS, BASE_MS + 1)
    list(read)
    with pytest.raises(LogtoUsageError, match="iterated once"):
        list(read)
