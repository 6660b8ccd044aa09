"""Contract: the audit log as Logto v1.37.1 serves it (``routes/log.ts``, ``queries/log.ts``,
``event-listeners/grant.ts``, ``koa-audit-log.ts``) — paging and its guards, filters, listed key prefixes, newest
first without a tie-break, the entry's shape, and the ``ExchangeTokenBy.*`` entry every token request writes."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import Api, token_response

TOKEN_KEY = "ExchangeTokenBy.ClientCredentials"


def _logs(api: Api, **params: Any) -> requests.Response:
    return api("GET", "/logs", params=params)


def _token_entries(emulator: LogtoEmulator) -> list[dict[str, Any]]:
    return [record.entry(emulator.tenant_id) for record in emulator.state.all_logs()
            if record.key.startswith("ExchangeTokenBy.")]


# --- the list -------------------------------------------------------------------------------------------------
def test_entries_have_logto_shape_and_come_newest_first(emulator: LogtoEmulator, api: Api) -> None:
    base = int(time.time() * 1000) - 60_000
    for offset in (3, 1, 2):
        emulator.add_log("Interaction.Create", created_at=base + offset, user_id="u1")
    response = _logs(api, logKey="Interaction.Create")
    assert response.status_code == 200
    entries = response.json()
    assert [entry["createdAt"] for entry in entries] == [base + 3, base + 2, base + 1]
    first = entries[0]
    assert list(first) == ["tenantId", "id", "key", "payload", "createdAt"]
    assert first["tenantId"] == "default" and len(first["id"]) == 21 and first["key"] == "Interaction.Create"
    assert first["payload"] == {"key": "Interaction.Create", "result": "Success", "userId": "u1"}
    assert list(first["payload"]) == ["key", "result", "userId"]  # jsonb: shorter keys first


def test_paging_headers_and_guards(emulator: LogtoEmulator, api: Api) -> None:
    base = int(time.time() * 1000) - 60_000
    emulator.add_logs({"key": "Interaction.Create", "created_at": base + n} for n in range(45))
    total = 45 + 1  # the fixture's own token request
    response = _logs(api, page=2, page_size=20)
    assert response.headers["Total-Number"] == str(total)
    links = response.headers["Link"]
    assert 'rel="first"' in links and 'rel="prev"' in links and 'rel="next"' in links and 'rel="last"' in links
    assert "/api/logs" not in links and "/logs?" in links  # Logto's Link URLs omit /api
    assert len(response.json()) == 20
    assert len(_logs(api, page=3, page_size=20).json()) == total - 40
    assert _logs(api, page=9, page_size=20).json() == []
    assert len(_logs(api, page_size=100).json()) == total
    assert len(_logs(api).json()) == 20  # default page size
    for bad in ({"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page": "x"}):
        refused = _logs(api, **bad)
        assert refused.status_code == 400 and refused.json()["code"] == "guard.invalid_pagination", bad


def test_filters_are_exact_and_on_the_payload(emulator: LogtoEmulator, api: Api) -> None:
    base = int(time.time() * 1000) - 60_000
    emulator.add_log("Interaction.SignIn.Submit", created_at=base, user_id="alice", application_id="app1")
    emulator.add_log("Interaction.SignIn.Submit", created_at=base + 1, user_id="bob", application_id="app1")
    emulator.add_log("RevokeToken", created_at=base + 2, user_id="alice", application_id="app2")
    emulator.add_log("Interaction.Create", created_at=base + 3, payload={"userId": "alice"})

    def ids(**params: Any) -> list[int]:
        response = _logs(api, page_size=100, **params)
        assert response.status_code == 200
        assert response.headers["Total-Number"] == str(len(response.json()))
        return [entry["createdAt"] - base for entry in response.json() if entry["createdAt"] <= base + 3]

    assert ids(logKey="Interaction.SignIn.Submit") == [1, 0]
    assert ids(logKey="Interaction.SignIn") == []  # exact, not a prefix
    assert ids(logKey="ExchangeTokenBy") == []
    assert ids(userId="alice") == [3, 2, 0]
    assert ids(applicationId="app1") == [1, 0]
    assert ids(applicationId="app1", userId="alice") == [0]
    assert ids(logKey="RevokeToken", userId="alice", applicationId="app2") == [2]
    assert ids(userId="nobody") == []
    assert ids(userId="", startTime="0") == [3, 2, 1, 0]  # empty filters and unknown parameters are ignored


def test_repeated_filter_is_a_guard_error(api: Api) -> None:
    response = api("GET", "/logs?userId=a&userId=b")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "guard.invalid_input"
    assert body["data"]["issues"][0]["path"] == ["userId"]


def test_only_logtos_audit_prefixes_are_listed_but_any_entry_is_found_by_id(emulator: LogtoEmulator,
                                                                            api: Api) -> None:
    hook = emulator.add_log("TriggerHook.PostRegister")
    listed = [emulator.add_log(key)["key"] for key in (
        "ExchangeTokenBy.RefreshToken", "RevokeToken", "Interaction.End", "JwtCustomizer.AccessToken",
        "SamlApplication.Callback", "Unknown")]
    keys = [entry["key"] for entry in _logs(api, page_size=100).json()]
    assert hook["key"] not in keys
    assert set(listed) <= set(keys)
    found = api("GET", f"/logs/{hook['id']}")
    assert found.status_code == 200 and found.json() == hook


def test_unknown_id_is_404_not_exists_with_id(api: Api) -> None:
    response = api("GET", "/logs/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "entity.not_exists_with_id"


def test_logs_need_a_management_token(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/api/logs", timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.authorization_header_missing"


def test_same_millisecond_entries_change_order_between_requests(emulator: LogtoEmulator, api: Api) -> None:
    """PostgreSQL has no tie-break for ``order by created_at desc``; the emulator varies it on purpose, so a
    reader that trusts the order of ties across pages loses or repeats entries here as it would on Logto."""
    created = int(time.time() * 1000) - 60_000
    emulator.add_logs({"key": "Interaction.Create", "created_at": created} for _ in range(10))
    first = [entry["id"] for entry in _logs(api, logKey="Interaction.Create").json()]
    second = [entry["id"] for entry in _logs(api, logKey="Interaction.Create").json()]
    assert sorted(first) == sorted(second) and len(first) == 10
    assert first != second
    pages = [entry["id"] for page in (1, 2) for entry in
             _logs(api, logKey="Interaction.Create", page=page, page_size=5).json()]
    assert len(pages) == 10  # each page holds 5 of the run, but their union may repeat some and miss others


def test_writes_push_older_entries_to_later_pages_and_retention_pulls_them_back(emulator: LogtoEmulator,
                                                                                api: Api) -> None:
    base = int(time.time() * 1000) - 60_000
    emulator.add_logs({"key": "Unknown", "created_at": base + n} for n in range(10))
    before = _logs(api, logKey="Unknown", page=2, page_size=5).json()
    emulator.add_log("Unknown", created_at=base + 100)
    after = _logs(api, logKey="Unknown", page=2, page_size=5).json()
    assert after[0]["createdAt"] == before[0]["createdAt"] + 1
    assert emulator.delete_logs_before(base + 3) == 3
    assert _logs(api, logKey="Unknown").headers["Total-Number"] == "8"
    assert api("GET", f"/logs/{before[-1]['id']}").status_code == 404


def test_add_logs_returns_count_and_keeps_time_order_when_out_of_order(emulator: LogtoEmulator, api: Api) -> None:
    base = int(time.time() * 1000) - 60_000
    assert emulator.add_logs([{"key": "Unknown", "created_at": base + 5}]) == 1
    assert emulator.add_logs({"key": "Unknown", "created_at": base + n, "result": "Error"} for n in (9, 1, 7)) == 3
    emulator.add_log("Unknown", created_at=base + 3)
    entries = _logs(api, logKey="Unknown").json()
    assert [entry["createdAt"] - base for entry in entries] == [9, 7, 5, 3, 1]
    assert entries[0]["payload"]["result"] == "Error"


def test_concurrent_writes_and_retention_while_reading(emulator: LogtoEmulator, api: Api) -> None:
    base = int(time.time() * 1000) - 3_600_000
    emulator.add_logs({"key": "Unknown", "created_at": base + n} for n in range(2000))
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            moment = base + 2000
            while not stop.is_set():
                emulator.add_log("Unknown", created_at=moment)
                moment += 1
                emulator.delete_logs_before(base + (moment - base - 2000) // 2)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for page in range(1, 15):
            response = _logs(api, logKey="Unknown", page=page, page_size=100)
            assert response.status_code == 200
            times = [entry["createdAt"] for entry in response.json()]
            assert times == sorted(times, reverse=True)
    finally:
        stop.set()
        thread.join()
    assert errors == []


# --- the token requests' entries --------------------------------------------------------------------------------
def test_client_secret_post_entry_holds_the_internal_secret_which_authenticates(emulator: LogtoEmulator,
                                                                                management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, auth="post", resource=emulator.management_api_resource,
                              scope="all")
    assert response.status_code == 200
    entry = _token_entries(emulator)[-1]
    payload = entry["payload"]
    assert entry["key"] == TOKEN_KEY and payload["key"] == TOKEN_KEY and payload["result"] == "Success"
    assert payload["applicationId"] == management_app.id
    assert payload["applicationSecret"] == {"name": "Default secret"}
    assert payload["tokenTypes"] == ["AccessToken"] and payload["scope"] == "all"
    assert payload["ip"] == "127.0.0.1" and payload["userAgent"].startswith("python-requests/")
    params = payload["params"]
    assert params["grant_type"] == "client_credentials" and params["client_id"] == management_app.id
    internal = params["client_secret"]
    assert internal.startswith("#internal:") and internal != management_app.secret
    assert "error" not in payload
    assert list(payload) == sorted(payload, key=lambda k: (len(k), k))  # jsonb order
    # the internal secret works at the token endpoint (as on Logto), through Basic and through the form
    reused = requests.post(f"{emulator.endpoint}/oidc/token", auth=(management_app.id, internal), timeout=10,
                           data={"grant_type": "client_credentials", "resource": emulator.management_api_resource,
                                 "scope": "all"})
    assert reused.status_code == 200
    reused_entry = _token_entries(emulator)[-1]["payload"]
    assert "applicationSecret" not in reused_entry and "client_secret" not in reused_entry["params"]


def test_client_secret_basic_entry_holds_no_secret(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    assert token_response(emulator, management_app, resource=emulator.management_api_resource).status_code == 200
    payload = _token_entries(emulator)[-1]["payload"]
    assert "client_secret" not in payload["params"]
    assert management_app.secret not in json.dumps(payload)
    assert payload["applicationSecret"] == {"name": "Default secret"}
    assert "scope" not in payload  # nothing granted: no scope in the answer, none in the entry


@pytest.mark.parametrize(("case", "expected_status", "error", "has_app"), [
    ("wrong secret basic", 401, "invalid_client", True),
    ("wrong secret post", 401, "invalid_client", True),
    ("unknown client", 400, "invalid_client", False),
    ("no client auth", 400, "invalid_request", False),
    ("unknown resource", 400, "invalid_target", True),
    ("unsupported grant", 400, "unsupported_grant_type", True),
    ("missing grant", 400, "invalid_request", True),
    ("bad content type", 400, "invalid_request", False),
])
def test_every_failed_grant_writes_an_error_entry(emulator: LogtoEmulator, management_app: M2MApp, case: str,
                                                  expected_status: int, error: str, has_app: bool) -> None:
    url = f"{emulator.endpoint}/oidc/token"
    app_id, secret = management_app.id, management_app.secret
    form = {"grant_type": "client_credentials", "resource": emulator.management_api_resource}
    requests_by_case = {
        "wrong secret basic": lambda: requests.post(url, data=form, auth=(app_id, "wrong"), timeout=10),
        "wrong secret post": lambda: requests.post(url, data={**form, "client_id": app_id, "client_secret": "w"},
                                                   timeout=10),
        "unknown client": lambda: requests.post(url, data=form, auth=("nobody", "x"), timeout=10),
        "no client auth": lambda: requests.post(url, data=form, timeout=10),
        "unknown resource": lambda: requests.post(url, data={**form, "resource": "https://nope.example"},
                                                  auth=(app_id, secret), timeout=10),
        "unsupported grant": lambda: requests.post(url, data={**form, "grant_type": "password"},
                                                   auth=(app_id, secret), timeout=10),
        "missing grant": lambda: requests.post(url, data={"resource": form["resource"]}, auth=(app_id, secret),
                                               timeout=10),
        "bad content type": lambda: requests.post(url, data="x", auth=(app_id, secret), timeout=10,
                                                  headers={"Content-Type": "text/plain"}),
    }
    before = len(_token_entries(emulator))
    response = requests_by_case[case]()
    assert response.status_code == expected_status and response.json()["error"] == error
    entries = _token_entries(emulator)
    assert len(entries) == before + 1
    payload = entries[-1]["payload"]
    assert payload["result"] == "Error" and payload["tokenTypes"] == []
    assert ("applicationId" in payload) == has_app
    details = json.loads(payload["error"])
    assert details["error"] == error and details["status"] == expected_status
    assert details["stack"].startswith(details["name"] + ": " + error)
    known_grant = case not in ("unsupported grant", "missing grant", "bad content type")
    assert entries[-1]["key"] == (TOKEN_KEY if known_grant else "ExchangeTokenBy.Unknown")


def test_expired_secret_and_token_quota_write_no_entry(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    """Both are refused before node-oidc-provider's token route (Logto's middleware), so no grant event fires."""
    emulator.set_token_quota(0)
    assert token_response(emulator, management_app, resource=emulator.management_api_resource).status_code == 429
    emulator.set_token_quota(None)
    emulator.expire_app_secret(management_app.id)
    assert token_response(emulator, management_app, resource=emulator.management_api_resource).status_code == 400
    assert _token_entries(emulator) == []


def test_entries_are_listed_through_the_api(emulator: LogtoEmulator, management_app: M2MApp, api: Api) -> None:
    token_response(emulator, management_app, auth="post", resource=emulator.management_api_resource)
    listed = _logs(api, logKey=TOKEN_KEY, applicationId=management_app.id).json()
    assert len(listed) == 2  # the fixture's Basic request and this one
    assert listed[0]["payload"]["params"]["client_secret"].startswith("#internal:")
    assert api("GET", f"/logs/{listed[0]['id']}").json() == listed[0]


def test_basic_header_with_the_user_secret_is_rewritten_not_logged(emulator: LogtoEmulator,
                                                                   management_app: M2MApp) -> None:
    header = base64.b64encode(f"{management_app.id}:{management_app.secret}".encode()).decode()
    response = requests.post(f"{emulator.endpoint}/oidc/token", headers={"Authorization": f"Basic {header}"},
                             data={"grant_type": "client_credentials",
                                   "resource": emulator.management_api_resource}, timeout=10)
    assert response.status_code == 200
    assert header not in json.dumps(_token_entries(emulator))


def test_demo_tenant_has_three_days_of_history() -> None:
    from airflow_provider_logto.testing.seed import seed_demo

    with LogtoEmulator() as emulator:
        seed_demo(emulator, users=3)
        app = emulator.add_m2m_app("reader")
        api = Api(emulator, token_response(emulator, app, resource=emulator.management_api_resource,
                                           scope="all").json()["access_token"])
        total = int(_logs(api, page_size=100).headers["Total-Number"])
        records = emulator.state.all_logs()
    assert 200 <= total <= 800
    now = int(time.time() * 1000)
    assert now - records[0].created_at > 60 * 3_600_000  # reaches back days, not minutes
    payloads = [record.payload() for record in records]
    assert any(p.get("params", {}).get("client_secret", "").startswith("#internal:") for p in payloads)
    assert any(p["result"] == "Error" and "error" in p for p in payloads)
    assert any(p["key"].startswith("Interaction.") and p.get("userId") for p in payloads)
    times = [record.created_at for record in records]
    assert len(set(times)) < len(times)  # some share a millisecond
