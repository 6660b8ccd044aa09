"""LogtoUserSyncOperator against the emulator: plan, apply, idempotence, safety of removals, roles and
organizations, and validation before any HTTP call."""

from __future__ import annotations

import pytest

from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.operators.sync import LogtoSyncAbortedError
from airflow_provider_logto.testing import LogtoEmulator
from tests.sync.conftest import Sync, employees, state_users, writes


def _by_email(emulator: LogtoEmulator) -> dict[str, dict]:
    return {u["primaryEmail"]: u for u in state_users(emulator)}


def _roles(emulator: LogtoEmulator, user: dict) -> list[str]:
    return sorted(emulator.state.roles[r]["name"] for r in emulator.state.user_roles[user["id"]])


def _acme_members(emulator: LogtoEmulator) -> set[str]:
    acme = next(o for o in emulator.state.organizations.values() if o["name"] == "Acme")
    return set(emulator.state.org_users[acme["id"]])


def test_first_sync_creates_second_writes_nothing(tenant: LogtoEmulator, sync: Sync) -> None:
    rows = employees(30, roles=["employee"], organizations=["Acme"])
    result = sync(rows)
    assert result == {"created": 30, "updated": 0, "unchanged": 0, "suspended": 0, "deleted": 0, "failed": [],
                      "failed_total": 0, "dry_run": False}
    users = _by_email(tenant)
    assert len(users) == 30
    user = users["user7@example.com"]
    assert user["name"] == "User 7"
    assert user["customData"] == {"externalId": "E00007", "team": "data", "airflowUserSync": "airflow"}
    assert _roles(tenant, user) == ["employee"]
    assert _acme_members(tenant) == {u["id"] for u in users.values()}
    methods = [(method, path.split("/")[2]) for method, path, _ in writes(tenant)]
    assert methods.count(("POST", "users")) == 30 and methods.count(("PUT", "users")) == 30
    assert methods.count(("POST", "organizations")) == 1  # one batched membership request

    tenant.journal.clear()
    again = sync(rows)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 30)
    assert writes(tenant) == []


def test_one_percent_changed_makes_exactly_that_many_writes(tenant: LogtoEmulator, sync: Sync) -> None:
    rows = employees(200)
    sync(rows)
    rows[3]["name"] = "Renamed"
    rows[50]["customData"]["team"] = "platform"
    tenant.journal.clear()
    result = sync(rows)
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 2, 198)
    assert sorted((m, p.rsplit("/", 1)[-1] if p.endswith("custom-data") else "user") for m, p, _ in
                  writes(tenant)) == [("PATCH", "custom-data"), ("PATCH", "user")]


def test_custom_data_is_merged_and_fields_absent_from_the_row_are_left_alone(tenant: LogtoEmulator,
                                                                              sync: Sync) -> None:
    sync(employees(1))
    user = state_users(tenant)[0]
    user["customData"]["badge"] = "B-7"  # set elsewhere (e.g. in Logto Console)
    user["avatar"] = "https://example.com/a.png"
    rows = [{"customData": {"externalId": "E00000", "team": "platform"}, "primaryEmail": "user0@example.com"}]
    result = sync(rows)
    assert result["updated"] == 1
    assert user["customData"] == {"externalId": "E00000", "team": "platform", "badge": "B-7",
                                  "airflowUserSync": "airflow"}
    assert (user["name"], user["avatar"]) == ("User 0", "https://example.com/a.png")


def test_roles_and_organizations_follow_the_source(tenant: LogtoEmulator, sync: Sync) -> None:
    rows = employees(3, roles=["employee"], organizations=["Acme"])
    sync(rows)
    rows[0]["roles"] = ["employee", "manager"]
    rows[1]["roles"] = []
    rows[2]["organizations"] = []
    tenant.journal.clear()
    result = sync(rows)
    assert (result["updated"], result["failed"]) == (3, [])
    users = _by_email(tenant)
    assert _roles(tenant, users["user0@example.com"]) == ["employee", "manager"]
    assert _roles(tenant, users["user1@example.com"]) == []
    assert _acme_members(tenant) == {users["user0@example.com"]["id"], users["user1@example.com"]["id"]}
    tenant.journal.clear()
    assert sync(rows)["unchanged"] == 3 and writes(tenant) == []


def test_dry_run_reports_the_plan_and_writes_nothing(tenant: LogtoEmulator, sync: Sync) -> None:
    tenant.journal.clear()
    result = sync(employees(5, roles=["employee"]), dry_run=True, preview_limit=2)
    assert (result["created"], result["dry_run"], result["aborted"]) == (5, True, None)
    assert result["changes"] == [
        {"action": "create", "key": "E00000", "line": 1, "changes": ["roles"]},
        {"action": "create", "key": "E00001", "line": 2, "changes": ["roles"]},
    ]
    assert writes(tenant) == [] and state_users(tenant) == []


def test_only_users_this_sync_manages_are_suspended(tenant: LogtoEmulator, sync: Sync) -> None:
    tenant.add_user("by_hand", primary_email="hand@example.com", custom_data={"externalId": "E09999"})
    tenant.add_user("other_sync", custom_data={"externalId": "E08888", "airflowUserSync": "crm"})
    rows = employees(10)
    sync(rows, on_absent="suspend")
    tenant.journal.clear()
    result = sync(rows[:9], on_absent="suspend")
    assert (result["suspended"], result["unchanged"]) == (1, 9)
    suspended = [u["primaryEmail"] or u["username"] for u in state_users(tenant) if u["isSuspended"]]
    assert suspended == ["user9@example.com"]
    assert [(m, s) for m, _, s in writes(tenant)] == [("PATCH", 200)]
    tenant.journal.clear()
    assert sync(rows[:9], on_absent="suspend")["suspended"] == 0 and writes(tenant) == []  # already suspended

    result = sync(rows, on_absent="suspend")  # back in the source: reactivated
    assert result["updated"] == 1 and not any(u["isSuspended"] for u in state_users(tenant))


def test_delete_removes_only_managed_absent_users(tenant: LogtoEmulator, sync: Sync) -> None:
    tenant.add_user("by_hand", primary_email="hand@example.com")
    rows = employees(10)
    sync(rows)
    result = sync(rows[:8], on_absent="delete", max_removals=2)
    assert (result["deleted"], result["unchanged"]) == (2, 8)
    assert sorted(_by_email(tenant)) == sorted([f"user{n}@example.com" for n in range(8)] + ["hand@example.com"])


@pytest.mark.parametrize("max_removals", [0.1, 3])
def test_a_truncated_source_aborts_before_any_write(tenant: LogtoEmulator, sync: Sync,
                                                    max_removals: float) -> None:
    rows = employees(40)
    sync(rows)
    tenant.journal.clear()
    with pytest.raises(LogtoSyncAbortedError, match=r"would suspend 20 of the 40 user\(s\).*nothing was written"):
        sync(rows[:20] + [{"primaryEmail": "new@example.com", "customData": {"externalId": "N1"}}],
             on_absent="suspend", max_removals=max_removals)
    assert writes(tenant) == []
    with pytest.raises(LogtoSyncAbortedError):
        sync([], on_absent="delete", max_removals=max_removals)
    assert writes(tenant) == [] and not any(u["isSuspended"] for u in state_users(tenant))


def test_a_dry_run_says_when_the_real_run_would_abort(tenant: LogtoEmulator, sync: Sync) -> None:
    sync(employees(10))
    tenant.journal.clear()
    result = sync(employees(5), on_absent="delete", max_removals=0.2, dry_run=True)
    assert (result["deleted"], result["unchanged"]) == (5, 5)
    assert "would delete 5 of the 10 user(s)" in result["aborted"]
    assert [c["action"] for c in result["changes"]] == ["delete"] * 5
    assert writes(tenant) == [] and len(state_users(tenant)) == 10


def test_invalid_rows_are_reported_with_their_line_and_never_applied(tenant: LogtoEmulator, sync: Sync) -> None:
    rows = employees(3)
    sync(rows, on_absent="suspend")
    bad = [
        {"primaryEmail": "x@example.com", "name": "no key"},
        {"customData": {"externalId": "E00000"}, "primaryEmail": "not-an-email", "name": "changed"},
        {"customData": {"externalId": "E00001"}, "name": "first"},
        {"customData": {"externalId": "E00001"}, "name": "second"},
        {"customData": {"externalId": "E00002"}, "roles": ["no-such-role"], "name": "changed"},
        {"customData": {"externalId": "N1"}, "primaryEmail": "n1@example.com", "nmae": "typo"},
        {"customData": {"externalId": "N2"}, "primaryEmail": "n2@example.com"},
    ]
    tenant.journal.clear()
    result = sync(bad, on_absent="suspend")
    failed = {(f["key"], f["reason"].split(":")[0]) for f in result["failed"]}
    assert failed == {(None, "line 1"), ("E00000", "line 2"), ("E00001", "line 3"), ("E00001", "line 4"),
                      ("E00002", "line 5"), ("N1", "line 6")}
    assert "not-an-email" in next(f["reason"] for f in result["failed"] if f["key"] == "E00000")
    assert "duplicate key" in next(f["reason"] for f in result["failed"] if f["key"] == "E00001")
    assert "no-such-role" in next(f["reason"] for f in result["failed"] if f["key"] == "E00002")
    # nothing of an invalid row is written, and its user is not suspended for being "absent"
    assert (result["created"], result["suspended"]) == (1, 0)
    assert [(m, p) for m, p, _ in writes(tenant)] == [("POST", "/api/users")]
    assert {u["name"] for u in state_users(tenant)} == {"User 0", "User 1", "User 2", None}


def test_match_on_email_adopts_existing_users(tenant: LogtoEmulator, sync: Sync) -> None:
    existing = tenant.add_user("ada", primary_email="Ada@Example.com", name="Ada")
    result = sync([{"primaryEmail": "ada@example.com", "name": "Ada Lovelace"}], match_on="primaryEmail")
    assert (result["created"], result["updated"]) == (0, 1)
    assert existing["customData"] == {"airflowUserSync": "airflow"}
    assert existing["name"] == "Ada Lovelace" and len(state_users(tenant)) == 1


def test_a_user_managed_by_another_sync_is_not_touched(tenant: LogtoEmulator, sync: Sync) -> None:
    tenant.add_user("crm_user", custom_data={"externalId": "E00000", "airflowUserSync": "crm"})
    tenant.journal.clear()
    result = sync(employees(1), sync_id="hr")
    assert "managed by another sync" in result["failed"][0]["reason"] and writes(tenant) == []


@pytest.mark.parametrize(("options", "message"), [
    ({"on_absent": "archive"}, "on_absent must be one of"),
    ({"match_on": "email"}, "match_on must be"),
    ({"max_removals": 1.5}, "max_removals must be"),
    ({"max_removals": True}, "max_removals must be"),
    ({"max_concurrency": 0}, "max_concurrency must be"),
    ({"sync_id": " "}, "sync_id must be"),
    ({"dry_run": "yes"}, "dry_run must be"),
    ({"source": 42}, "source must be a list"),
    ({"source": "/no/such/file.jsonl"}, "does not exist"),
    ({"source": "[{\"a\": 1}]"}, "looks like JSON text"),
])
def test_arguments_are_checked_before_any_http_call(tenant: LogtoEmulator, sync: Sync, options: dict,
                                                    message: str) -> None:
    source = options.pop("source", [])
    with pytest.raises(LogtoUsageError, match=message):
        sync(source, **options)
    assert tenant.journal.entries() == []


def test_the_summary_never_holds_the_app_secret(tenant: LogtoEmulator, sync: Sync, monkeypatch) -> None:
    import json
    import os

    secret = json.loads(os.environ["AIRFLOW_CONN_LOGTO_DEFAULT"])["password"]
    tenant.add_fault("status", "/api/users", method="POST", status=400, count=None)
    result = sync(employees(2), fail_on_write_errors=False)
    assert len(result["failed"]) == 2 and "create failed" in result["failed"][0]["reason"]
    assert secret not in json.dumps(result)


def test_the_log_shows_the_plan_by_key_but_no_values(tenant: LogtoEmulator, sync: Sync,
                                                     caplog: pytest.LogCaptureFixture,
                                                     capfd: pytest.CaptureFixture) -> None:
    rows = employees(3)
    rows[0]["customData"]["salary_band"] = "confidential-band-7"
    with caplog.at_level("INFO"):
        sync(rows)
    captured = capfd.readouterr()
    text = caplog.text + captured.out + captured.err  # the task logger writes through structlog
    assert "Plan: 3 to create, 0 to update, 0 unchanged" in text
    assert "create E00000 (customData)" not in text and "create E00000" in text
    assert "3 created, 0 updated" in text
    assert "confidential-band-7" not in text
