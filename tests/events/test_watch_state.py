"""The watcher's position in Logto's audit log (audit/watch.py): each entry examined once, ties and late commits
within the lookback found, everything a JSON round trip."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_logto.audit.watch import LOOKBACK_MS, WatchFilter, WatchState

ANY = WatchFilter()
NONE = WatchFilter(result="NoSuchResult")  # examines entries without keeping any


def entry(entry_id: str, created: int, result: str = "Success", **payload: Any) -> dict[str, Any]:
    return {"tenantId": "default", "id": entry_id, "key": "ExchangeTokenBy.ClientCredentials",
            "payload": {"result": result, **payload}, "createdAt": created}


def test_a_new_watcher_starts_after_the_newest_entry() -> None:
    state = WatchState.starting_after([entry("c", 10_000), entry("b", 9_500), entry("a", 5_000)], complete=True)
    assert state.floor == 10_000 - LOOKBACK_MS and set(state.seen) == {"c", "b"}
    assert state.absorb([entry("b", 9_500), entry("c", 10_000), entry("d", 10_000)], NONE) == (1, 0)


def test_a_full_first_page_within_the_lookback_starts_after_its_oldest_millisecond() -> None:
    page = [entry(f"e{n}", 10_000 - n) for n in range(100)]
    state = WatchState.starting_after(page, complete=False)
    assert state.floor == 10_000 - 99 + 1
    assert state.absorb([entry("older-tie", 10_000 - 99)], NONE) == (0, 0)  # may have been beyond the page


def test_an_empty_log_makes_everything_new() -> None:
    state = WatchState.starting_after([], complete=True)
    assert (state.floor, state.seen) == (0, {})
    assert state.absorb([entry("a", 1)], NONE) == (1, 0)


def test_same_millisecond_and_late_commits_within_the_lookback_are_found_once() -> None:
    state = WatchState.starting_after([entry("a", 10_000)], complete=True)
    assert state.absorb([entry("a", 10_000), entry("b", 10_000), entry("c", 11_000)], NONE) == (2, 0)
    assert state.floor == 11_000 - LOOKBACK_MS
    # "late" committed after "c" was read, with an older createdAt: still at or after the floor
    assert state.absorb([entry("late", 10_500), entry("b", 10_000), entry("c", 11_000)], NONE) == (1, 0)
    assert state.absorb([entry("late", 10_500), entry("c", 11_000)], NONE) == (0, 0)


def test_seen_ids_are_kept_only_within_the_lookback() -> None:
    state = WatchState()
    state.absorb([entry(f"e{n}", n * 100) for n in range(1000)], NONE)
    assert state.floor == 99_900 - LOOKBACK_MS
    assert len(state.seen) == LOOKBACK_MS // 100 + 1


def test_the_state_survives_a_json_round_trip() -> None:
    state = WatchState.starting_after([entry("a", 10_000)], complete=True)
    state.absorb([entry("b", 10_001)], NONE)
    again = WatchState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    assert WatchState.from_json(None) is None and WatchState.from_json({"version": 99}) is None


def test_filters_are_checked_on_the_client_too() -> None:
    failed = WatchFilter(log_key="ExchangeTokenBy.ClientCredentials", application_id="app1", result="Error")
    assert failed.matches(entry("a", 1, "Error", applicationId="app1"))
    assert not failed.matches(entry("a", 1, "Success", applicationId="app1"))
    assert not failed.matches(entry("a", 1, "Error", applicationId="app2"))
    assert not failed.matches({**entry("a", 1, "Error", applicationId="app1"), "key": "Interaction.Create"})
