"""The sync under faults: writes fail with 5xx, dropped connections and answers lost after Logto applied them.
Retried as Airflow would retry the task, it converges to the source with no duplicate user, and each try's
summary agrees with what the emulator's journal saw."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest

from airflow_provider_logto.operators.sync import LogtoSyncError
from airflow_provider_logto.testing import LogtoEmulator
from tests.sync.conftest import Sync, employees, state_users

TIMEOUT = 0.3
LATE = 0.6  # a create answered after the client gave up: Logto applied it, the client never heard


@pytest.fixture
def faulty(tenant: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> LogtoEmulator:
    """20 % of every kind of write fails: answers lost after Logto applied the write (POST /users, organization
    membership), 503 (PATCH), dropped connections (PUT roles)."""
    connection = json.loads(os.environ["AIRFLOW_CONN_LOGTO_DEFAULT"])
    connection["extra"]["timeout"] = TIMEOUT
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", json.dumps(connection))
    tenant.add_fault("delay", "/api/users", method="POST", delay=LATE, rate=0.2, count=None)
    tenant.add_fault("status", "/api/users/*", method="PATCH", status=503, rate=0.2, count=None)
    tenant.add_fault("drop", "/api/users/*/roles", method="PUT", rate=0.2, count=None)
    tenant.add_fault("delay", "/api/organizations/*", method="POST", delay=LATE, rate=0.2, count=None)
    return tenant


def _retried(emulator: LogtoEmulator, sync: Sync, rows: list[dict[str, Any]], tries: int = 15,
             **options: Any) -> list[tuple[dict[str, Any], list[tuple[str, str, int, bytes]]]]:
    """Run the task until it succeeds, like Airflow's retries; per try: its summary and the writes it caused."""
    from airflow_provider_logto.operators.sync import LogtoUserSyncOperator

    outcomes = []
    for _ in range(tries):
        emulator.journal.clear()
        operator = LogtoUserSyncOperator(task_id="sync", source=rows, max_concurrency=4, **options)
        try:
            summary, error = operator.execute({}), None
        except LogtoSyncError as failure:
            summary, error = None, failure
        time.sleep(LATE + 0.2)  # Airflow's retry_delay: late requests land within their own try
        journal = [(e.method, e.path, e.status, e.body) for e in emulator.journal.entries(server="logto")
                   if e.method in ("POST", "PUT", "PATCH", "DELETE") and e.path.startswith("/api/")]
        outcomes.append((summary, journal))
        if error is None:
            return outcomes
    raise AssertionError(f"no convergence after {tries} tries")


def _created_in(journal: list[tuple[str, str, int, bytes]]) -> int:
    return sum(1 for method, path, status, _ in journal if (method, path, status) == ("POST", "/api/users", 200))


def _users_written(emulator: LogtoEmulator, journal: list[tuple[str, str, int, bytes]]) -> set[str]:
    """Ids of the users a try wrote to successfully (creates are mapped to ids through their email)."""
    by_email = {u["primaryEmail"]: u["id"] for u in state_users(emulator)}
    written: set[str] = set()
    for method, path, status, body in journal:
        if status >= 300:
            continue
        if path == "/api/users":
            written.add(by_email[json.loads(body)["primaryEmail"]])
        elif path.startswith("/api/users/"):
            written.add(path.split("/")[3])
        elif path.startswith("/api/organizations/") and method == "POST":
            written.update(json.loads(body)["userIds"])
        elif path.startswith("/api/organizations/"):
            written.add(path.split("/")[5])
    return written


def _assert_matches_source(emulator: LogtoEmulator, rows: list[dict[str, Any]], absent: set[str]) -> None:
    users = state_users(emulator)
    ids = Counter(u["customData"].get("externalId") for u in users)
    assert all(count == 1 for count in ids.values()), f"duplicate users: {ids.most_common(3)}"
    by_key = {u["customData"]["externalId"]: u for u in users}
    assert set(by_key) == {row["customData"]["externalId"] for row in rows} | absent
    acme = next(o for o in emulator.state.organizations.values() if o["name"] == "Acme")
    for row in rows:
        user = by_key[row["customData"]["externalId"]]
        assert (user["name"], user["primaryEmail"], user["isSuspended"]) == (row["name"], row["primaryEmail"], False)
        assert user["customData"] == {**row["customData"], "airflowUserSync": "airflow"}
        roles = sorted(emulator.state.roles[r]["name"] for r in emulator.state.user_roles[user["id"]])
        assert roles == sorted(row["roles"])
        assert (user["id"] in emulator.state.org_users[acme["id"]]) == ("Acme" in row["organizations"])
    assert all(by_key[key]["isSuspended"] for key in absent)


def test_a_faulty_first_sync_converges_without_duplicates(faulty: LogtoEmulator, sync: Sync) -> None:
    rows = employees(60, roles=["employee"], organizations=["Acme"])
    tries = _retried(faulty, sync, rows)
    assert len(tries) > 1, "the faults should have failed the first try"
    _assert_matches_source(faulty, rows, set())
    # every successful create of the journal made exactly one user, and each try reported its own creates
    assert sum(_created_in(journal) for _, journal in tries) == len(state_users(faulty)) == 60
    final, journal = tries[-1]
    assert final is not None and final["failed"] == []
    assert final["created"] == _created_in(journal)
    assert final["created"] + final["updated"] == len(_users_written(faulty, journal))


def test_a_faulty_update_and_suspension_run_converges(faulty: LogtoEmulator, sync: Sync) -> None:
    faulty.faults.clear()
    rows = employees(60, roles=["employee"], organizations=["Acme"])
    sync(rows)
    for row in rows[:15]:
        row["name"] += " (moved)"
        row["customData"]["team"] = "platform"
        row["roles"] = ["employee", "manager"]
        row["organizations"] = []
    kept, gone = rows[:55], {row["customData"]["externalId"] for row in rows[55:]}
    faulty.add_fault("status", "/api/users/*", method="PATCH", status=503, rate=0.2, count=None)
    faulty.add_fault("drop", "/api/users/*/roles", method="PUT", rate=0.2, count=None)
    faulty.add_fault("delay", "/api/organizations/*", method="DELETE", delay=LATE, rate=0.2, count=None)
    tries = _retried(faulty, sync, kept, on_absent="suspend", max_removals=5)
    _assert_matches_source(faulty, kept, gone)
    suspensions = [(path, status) for _, journal in tries for method, path, status, body in journal
                   if path.endswith("/is-suspended") and status == 200]
    assert len({path for path, _ in suspensions}) == 5
    final, journal = tries[-1]
    assert final is not None and final["created"] == 0 and final["failed"] == []
    assert final["updated"] + final["suspended"] == len(_users_written(faulty, journal))
    assert final["suspended"] == len({path for method, path, status, _ in journal
                                      if path.endswith("/is-suspended") and status == 200})


def test_lost_creates_without_a_unique_field_are_never_sent_twice(faulty: LogtoEmulator, sync: Sync) -> None:
    """Keyed only by an external id in custom data, nothing in Logto would refuse a second create: a lost
    answer is looked up, and what is not yet visible is left to the next try, never created blindly."""
    faulty.faults.clear()
    faulty.add_fault("delay", "/api/users", method="POST", delay=LATE, rate=0.3, count=None)
    rows = [{"customData": {"externalId": f"X{n}"}, "name": f"Contractor {n}"} for n in range(40)]
    tries = _retried(faulty, sync, rows)
    assert len(tries) > 1
    keys = Counter(u["customData"]["externalId"] for u in state_users(faulty))
    assert keys == Counter({f"X{n}": 1 for n in range(40)})
    assert sum(_created_in(journal) for _, journal in tries) == 40


def test_a_rate_limited_tenant_slows_the_sync_down_without_failures(tenant: LogtoEmulator, sync: Sync) -> None:
    """Logto Cloud answers 429 past its rate limit; the writes back off (honouring Retry-After) and all land."""
    tenant.enable_rate_limit(capacity=40, per_seconds=1.0)
    result = sync(employees(150, roles=["employee"]), max_concurrency=16)
    assert (result["created"], result["failed"]) == (150, [])
    statuses = Counter(e.status for e in tenant.journal.entries(path="/api/users", method="POST"))
    assert statuses[429] > 0 and statuses[200] == 150  # throttled, yet each user created once
    assert len(state_users(tenant)) == 150
