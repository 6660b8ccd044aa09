"""``LogtoAuditLogExportOperator`` over real HTTP: windows that compose, redaction that leaves no credential in the
file, XCom or task log, asset events that carry the window, and errors that say what to set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_logto.audit.reader import AuditLogQuery, read_window
from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.operators import audit_logs
from airflow_provider_logto.operators.audit_logs import LogtoAuditLogExportOperator
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.audit.conftest import BASE_MS, expected, log_requests, write
from tests.helpers import HookFactory

HOUR = 3_600_000


def _at(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _export(destination: Path, context: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    operator = LogtoAuditLogExportOperator(task_id="export", destination=str(destination), **options)
    return operator.execute(context or {})  # type: ignore[arg-type]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def history(emulator: LogtoEmulator, hook: LogtoHook) -> list[dict[str, Any]]:
    """Three hours of entries, some sharing a millisecond across the hour boundaries."""
    stamps = [BASE_MS + number * 3 * HOUR // 2000 for number in range(2000)]
    stamps += [BASE_MS + HOUR - 1] * 5 + [BASE_MS + HOUR] * 5 + [BASE_MS + 2 * HOUR] * 5
    return write(emulator, stamps)


def test_hourly_runs_compose_and_a_rerun_rewrites_the_same_file(history: list[dict[str, Any]],
                                                                  tmp_path: Path) -> None:
    parts = []
    for hour in range(3):
        interval = {"data_interval_start": _at(BASE_MS + hour * HOUR),
                    "data_interval_end": _at(BASE_MS + (hour + 1) * HOUR)}
        result = _export(tmp_path / f"hour{hour}.jsonl", interval)
        assert (result["start"], result["end"]) == (_at(BASE_MS + hour * HOUR).isoformat(timespec="milliseconds"),
                                                   _at(BASE_MS + (hour + 1) * HOUR).isoformat(
                                                       timespec="milliseconds"))
        assert result["count"] == len(_lines(tmp_path / f"hour{hour}.jsonl")) and result["possibly_missed"] == 0
        parts.append((tmp_path / f"hour{hour}.jsonl").read_bytes())
    whole = _export(tmp_path / "all.jsonl", start="2026-01-01T00:00:00Z", end="2026-01-01T03:00:00+00:00")
    assert b"".join(parts) == (tmp_path / "all.jsonl").read_bytes()  # no overlap, no gap, same order
    assert [(e["createdAt"], e["id"]) for e in _lines(tmp_path / "all.jsonl")] == \
        expected(history, BASE_MS, BASE_MS + 3 * HOUR)
    assert whole["count"] == len(history)
    again = _export(tmp_path / "hour1.jsonl", {"data_interval_start": _at(BASE_MS + HOUR),
                                               "data_interval_end": _at(BASE_MS + 2 * HOUR)})
    assert (tmp_path / "hour1.jsonl").read_bytes() == parts[1] and again["count"] == len(parts[1].splitlines())
    assert not list(tmp_path.glob("*.part"))


def test_the_window_can_be_given_in_another_time_zone(history: list[dict[str, Any]], tmp_path: Path) -> None:
    result = _export(tmp_path / "a.jsonl", start=datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
                     end="2026-01-01T01:30:00.000+00:00")
    assert result["start"] == "2026-01-01T00:00:00.000+00:00" and result["end"] == "2026-01-01T01:30:00.000+00:00"
    assert result["count"] == len(expected(history, BASE_MS, BASE_MS + 3 * HOUR // 2))


@pytest.mark.parametrize(("options", "context", "message"), [
    ({}, {}, "this run has no data interval .* set start and end on the operator"),
    ({}, {"data_interval_start": None, "data_interval_end": None}, "no data interval"),
    ({}, {"data_interval_start": _at(BASE_MS), "data_interval_end": _at(BASE_MS)}, "or an empty one"),
    ({"start": "2026-01-01T00:00:00Z"}, {}, "end is not set: give both start and end"),
    ({"end": "2026-01-01T00:00:00Z"}, {}, "start is not set"),
    ({"start": "2026-01-01T00:00:00", "end": "2026-01-01T01:00:00Z"}, {}, "has no time zone"),
    ({"start": "yesterday", "end": "2026-01-01T01:00:00Z"}, {}, "'yesterday' is not an ISO-8601"),
    ({"start": 1767225600, "end": "2026-01-01T01:00:00Z"}, {}, "start must be a datetime or an ISO-8601 string"),
    ({"start": "2026-01-01T01:00:00Z", "end": "2026-01-01T01:00:00Z"}, {}, "is empty: end must be after start"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}, {}, "ends in the future"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "max_concurrency": 0}, {}, "max_concurrency"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "redact": "no"}, {}, "redact must be True"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "log_key": 5}, {}, "log_key must be a string"),
])
def test_bad_input_fails_before_any_request(emulator: LogtoEmulator, hook: LogtoHook, tmp_path: Path,
                                            options: dict[str, Any], context: dict[str, Any], message: str) -> None:
    with pytest.raises(LogtoUsageError, match=message):
        _export(tmp_path / "x.jsonl", context, **options)
    assert log_requests(emulator) == 0 and not list(tmp_path.iterdir())


def test_a_missing_folder_fails_before_any_request(emulator: LogtoEmulator, hook: LogtoHook, tmp_path: Path) -> None:
    with pytest.raises(LogtoUsageError, match="does not exist"):
        _export(tmp_path / "missing" / "x.jsonl", start="2026-01-01T00:00:00Z", end="2026-01-01T01:00:00Z")
    assert log_requests(emulator) == 0


def test_the_outlet_asset_event_carries_the_window(history: list[dict[str, Any]], tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import Asset

    from airflow_provider_logto.compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.execution_time.context import OutletEventAccessors
    else:
        from airflow.utils.context import OutletEventAccessors  # type: ignore[no-redef,attr-defined]
    folder, elsewhere = Asset(f"file://{tmp_path}"), Asset("s3://other/bucket")
    events = OutletEventAccessors()
    operator = LogtoAuditLogExportOperator(task_id="export", destination=str(tmp_path / "hour.jsonl"),
                                           outlets=[folder, elsewhere], start="2026-01-01T00:00:00Z",
                                           end="2026-01-01T01:00:00Z")
    result = operator.execute({"outlet_events": events})  # type: ignore[arg-type]
    assert events[folder].extra == {"start": "2026-01-01T00:00:00.000+00:00", "end": "2026-01-01T01:00:00.000+00:00",
                                    "count": result["count"], "possibly_missed": 0,
                                    "location": str(tmp_path / "hour.jsonl")}
    assert result["count"] > 0
    assert events[elsewhere].extra == {}


# --- no credential leaves -------------------------------------------------------------------------------------
def _token_request(emulator: LogtoEmulator, app_id: str, secret: str) -> requests.Response:
    return requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app_id, "client_secret": secret,
        "resource": emulator.management_api_resource, "scope": "all"})


def test_no_credential_in_file_xcom_or_log(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           caplog: pytest.LogCaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_logs, "SETTLE", timedelta(0))  # the emulator stores an entry before it answers
    started = datetime.now(UTC) - timedelta(seconds=1)
    poster = emulator.add_m2m_app("Posts its secret")
    posting = connect(poster, conn_id="logto_poster", client_auth="client_secret_post")
    tokens = [posting.get_access_token()]
    assert _token_request(emulator, poster.id, "not-the-secret").status_code in (400, 401)
    hook = connect(management_app)
    tokens.append(hook.get_access_token())
    # entries that echo tokens and credentials in every shape the redaction must catch
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for number, token in enumerate(tokens):
        write(emulator, [now_ms + number], key="Interaction.SubmitInteraction", payload={
            "params": {"access_token": token, "password": "hunter2-very-secret", "code_verifier": "verifier-123456"},
            "error": json.dumps({"message": f"upstream said Authorization: Bearer {token}"}),
            "headers": {"authorization": f"Basic {poster.secret}"}})
    end = datetime.now(UTC) + timedelta(milliseconds=5)
    raw = list(read_window(hook, AuditLogQuery(), int(started.timestamp() * 1000), int(end.timestamp() * 1000)))
    internal = {entry["payload"]["params"]["client_secret"] for entry in raw
                if entry["key"] == "ExchangeTokenBy.ClientCredentials" and entry["payload"].get("result") == "Success"
                and "client_secret" in entry["payload"].get("params", {})}
    posted = [entry["payload"]["params"]["client_secret"] for entry in raw
              if "client_secret" in entry["payload"].get("params", {})]
    assert internal, "the emulator records the posted secret, as Logto does"
    for secret in internal:  # what makes it a credential: it authenticates as the app
        assert _token_request(emulator, poster.id, secret).status_code == 200
    caplog.set_level("DEBUG")
    capsys.readouterr()
    while datetime.now(UTC) < end:
        pass
    result = _export(tmp_path / "audit.jsonl", start=started, end=end, logto_conn_id="logto_default")
    text = (tmp_path / "audit.jsonl").read_text()
    output = capsys.readouterr()
    everywhere = {"file": text, "xcom": json.dumps(result), "log": caplog.text + output.out + output.err}
    credentials = [*posted, poster.secret, management_app.secret, *tokens, "hunter2-very-secret",
                   "verifier-123456"]
    leaks = {where: [c for c in credentials if c in body] for where, body in everywhere.items()}
    assert leaks == {"file": [], "xcom": [], "log": []}
    assert result["count"] == len(raw) and result["redacted"] >= len(internal) + 5 * len(tokens)
    for entry in _lines(tmp_path / "audit.jsonl"):  # the shape stays: the values are markers
        if "client_secret" in entry["payload"].get("params", {}):
            assert entry["payload"]["params"]["client_secret"] not in internal
    # redact=False writes what Logto stores — which is why it is not the default
    _export(tmp_path / "raw.jsonl", start=started, end=end, redact=False)
    assert all(secret in (tmp_path / "raw.jsonl").read_text() for secret in internal)
