"""Reading the source: JSON Lines and CSV files from a path, a ``file://`` URL or an ``ObjectStoragePath``,
line numbers for every problem, and the row rules Logto itself applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_logto.sync.index import SourceIndex
from airflow_provider_logto.sync.rows import MatchOn, RowError, parse_row
from airflow_provider_logto.sync.source import SyncSource
from airflow_provider_logto.testing import LogtoEmulator
from tests.sync.conftest import Sync, state_users

MATCH = MatchOn.parse("customData.externalId")


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_jsonl_records_carry_their_line_numbers(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "u.jsonl", [{"customData": {"externalId": "A"}}, "", "{not json", "[1]",
                                         {"customData": {"externalId": "B"}}])
    records = list(SyncSource(str(path)))
    assert [line for line, _ in records] == [1, 3, 4, 5]
    assert isinstance(records[1][1], RowError) and "not valid JSON" in str(records[1][1])
    assert isinstance(records[2][1], RowError) and "expected a JSON object" in str(records[2][1])


def test_csv_columns_become_fields(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text("customData.externalId,primaryEmail,name,roles,organizations,isSuspended,customData.team\n"
                    "E1,ada@example.com,Ada,employee;manager,Acme,false,data\n"
                    'E2,,"Turing, Alan",,,true,\n')
    records = list(SyncSource(str(path)))
    assert records == [
        (2, {"customData": {"externalId": "E1", "team": "data"}, "primaryEmail": "ada@example.com", "name": "Ada",
             "roles": ["employee", "manager"], "organizations": ["Acme"], "isSuspended": False}),
        (3, {"customData": {"externalId": "E2"}, "name": "Turing, Alan", "isSuspended": True}),
    ]


@pytest.mark.parametrize(("record", "reason"), [
    ({"name": "x"}, "no key"),
    ({"customData": {"externalId": True}}, "must be a string or a number"),
    ({"customData": {"externalId": "A"}, "primaryEmail": "nope"}, "primaryEmail 'nope' is invalid"),
    ({"customData": {"externalId": "A"}, "username": "1abc"}, "username '1abc' is invalid"),
    ({"customData": {"externalId": "A"}, "primaryPhone": "+1 555"}, "primaryPhone '+1 555' is invalid"),
    ({"customData": {"externalId": "A"}, "name": 3}, "name must be a string or null"),
    ({"customData": {"externalId": "A"}, "roles": "admin"}, "roles must be a list"),
    ({"customData": {"externalId": "A"}, "isSuspended": "yes"}, "isSuspended must be true or false"),
    ({"customData": {"externalId": "A", "airflowUserSync": "x"}}, "written by the sync itself"),
    ({"customData": {"externalId": "A"}, "password": "secret"}, "unknown field(s) password"),
])
def test_invalid_rows_say_why(record: dict, reason: str) -> None:
    with pytest.raises(RowError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")) as info:
        parse_row(7, record, MATCH)
    assert info.value.line == 7 and str(info.value).startswith("line 7: ")


def test_email_keys_compare_case_insensitively() -> None:
    match = MatchOn.parse("primaryEmail")
    assert parse_row(1, {"primaryEmail": "Ada@Example.com"}, match).key == "ada@example.com"
    assert match.key_of_user({"primaryEmail": "ADA@example.com"}) == "ada@example.com"


def test_duplicate_keys_invalidate_every_row_with_that_key() -> None:
    rows = [{"customData": {"externalId": "A"}}, {"customData": {"externalId": "B"}},
            {"customData": {"externalId": "A"}}, {"customData": {"externalId": "A"}}]
    index = SourceIndex.build(SyncSource(rows), MATCH, "airflow")
    assert sorted((p.line, p.key) for p in index.problems) == [(1, "A"), (3, "A"), (4, "A")]
    assert not index.valid(index.slot("A")) and index.valid(index.slot("B"))


def test_sync_from_an_object_storage_url_and_a_csv(tenant: LogtoEmulator, sync: Sync, tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    path = _jsonl(tmp_path / "users.jsonl", [{"customData": {"externalId": "A"}, "primaryEmail": "a@example.com"}])
    assert sync(f"file://{path}")["created"] == 1
    assert sync(ObjectStoragePath(f"file://{path}"))["unchanged"] == 1
    csv = tmp_path / "users.csv"
    csv.write_text("customData.externalId,primaryEmail,roles\nA,a@example.com,employee\nB,b@example.com,\n")
    result = sync(str(csv))
    assert (result["created"], result["updated"]) == (1, 1)
    assert sorted(u["primaryEmail"] for u in state_users(tenant)) == ["a@example.com", "b@example.com"]


def test_a_source_replaced_between_plan_and_apply_is_not_half_applied(tenant: LogtoEmulator, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync reads the source twice (to plan, then to apply); rows that changed or vanished in between are
    reported, not applied."""
    from airflow_provider_logto.operators.sync import LogtoUserSyncOperator
    from airflow_provider_logto.sync import applier

    path = _jsonl(tmp_path / "u.jsonl", [{"customData": {"externalId": n}, "name": n} for n in ("A", "B", "C")])
    original = applier.Applier.apply

    def replace_then_apply(self: applier.Applier, records: object) -> object:
        # the HR system rewrites the file right after the plan
        _jsonl(path, [{"customData": {"externalId": "A"}, "name": "A"},
                      {"customData": {"externalId": "B"}, "name": "B (changed)"}])
        return original(self, records)

    monkeypatch.setattr(applier.Applier, "apply", replace_then_apply)
    result = LogtoUserSyncOperator(task_id="s", source=str(path), fail_on_write_errors=False).execute({})
    assert result["created"] == 1
    reasons = {f["key"]: f["reason"] for f in result["failed"]}
    assert "source changed while the sync was running" in reasons["B"]
    assert "gone when the source was read again" in reasons["C"]
    assert [u["name"] for u in state_users(tenant)] == ["A"]


def test_user_ids_are_packed_and_other_ids_kept_aside() -> None:
    from airflow_provider_logto.sync.index import IdColumn

    ids = IdColumn(4)
    ids[0], ids[2], ids[3] = "abc123def456", "an-id-of-another-shape", "abc123def456"
    assert list(ids) == ["abc123def456", None, "an-id-of-another-shape", "abc123def456"]
    assert len(ids) == 4
