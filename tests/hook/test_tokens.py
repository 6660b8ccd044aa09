"""The token lifecycle: reuse, sharing, single-flight, expiry, scope checks, error messages."""

from __future__ import annotations

import threading
import time

import jwt
import pytest

from airflow_provider_logto.exceptions import LogtoScopeError, LogtoTokenError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory, token_requests


def test_one_token_request_for_a_thousand_calls(emulator: LogtoEmulator, management_app: M2MApp,
                                                connect: HookFactory) -> None:
    hook = connect(management_app)
    for _ in range(1000):
        hook.management_request("GET", "/api/status")
    assert len({hook.get_access_token() for _ in range(1000)}) == 1
    assert token_requests(emulator) == 1
    assert len(emulator.journal.entries(path="/api/status")) == 1000


def test_cache_is_shared_by_hook_instances(emulator: LogtoEmulator, management_app: M2MApp,
                                           connect: HookFactory) -> None:
    first = connect(management_app).get_access_token()
    second = LogtoHook("logto_default").get_access_token()
    assert first == second
    assert token_requests(emulator) == 1


def test_cache_key_separates_resources_scopes_and_apps(emulator: LogtoEmulator, management_app: M2MApp,
                                                       shop_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    hook.get_access_token()
    hook.get_access_token(scopes="read:products write:products")
    hook.get_access_token(scopes=["write:products", "read:products"])  # same set, other order: cached
    connect(management_app, conn_id="other").get_access_token()
    assert token_requests(emulator) == 3


def test_sixteen_threads_share_one_fetch(emulator: LogtoEmulator, management_app: M2MApp,
                                         connect: HookFactory) -> None:
    emulator.add_fault("delay", "/oidc/token", delay=0.3, count=None)
    hook = connect(management_app)
    barrier = threading.Barrier(16)
    results: list[str] = []

    def work() -> None:
        barrier.wait()
        results.append(LogtoHook("logto_default").get_access_token())

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16 and len(set(results)) == 1
    assert token_requests(emulator) == 1
    assert hook.get_access_token() == results[0]


def test_token_is_refreshed_before_it_expires(emulator: LogtoEmulator, shop_app: M2MApp,
                                              connect: HookFactory) -> None:
    emulator.set_access_token_ttl("https://shopping.api", 2)
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    first = hook.get_access_token()
    assert hook.get_access_token() == first
    time.sleep(1.9)  # lifetime 2 s minus a leeway of 0.2 s
    second = hook.get_access_token()
    assert second != first
    assert token_requests(emulator) == 2
    assert jwt.decode(second, options={"verify_signature": False})["exp"] > time.time()


def test_management_token_defaults(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    claims = jwt.decode(connect(management_app).get_access_token(), options={"verify_signature": False})
    assert claims["aud"] == "https://default.logto.app/api"
    assert claims["scope"] == "all"


def test_connection_resource_and_scopes_are_the_defaults(emulator: LogtoEmulator, shop_app: M2MApp,
                                                          connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes=["read:products"])
    claims = jwt.decode(hook.get_access_token(), options={"verify_signature": False})
    assert (claims["aud"], claims["scope"]) == ("https://shopping.api", "read:products")
    management = jwt.decode(hook.get_access_token(resource=emulator.management_api_resource, scopes=[]),
                            options={"verify_signature": False})
    assert management["aud"] == emulator.management_api_resource and "scope" not in management


def test_organization_token(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    organization = emulator.add_organization("Acme", apps=[management_app.id])
    hook = connect(management_app, organization_id=organization["id"])
    claims = jwt.decode(hook.get_access_token(), options={"verify_signature": False})
    assert "organization_id" not in claims  # without a resource, Logto names the organization in `aud` only
    assert claims["aud"] == f"urn:logto:organization:{organization['id']}"
    management = jwt.decode(hook.get_access_token(resource=emulator.management_api_resource),
                            options={"verify_signature": False})
    assert "organization_id" not in management


def test_client_secret_post(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    connect(management_app, client_auth="client_secret_post").get_access_token()
    (entry,) = emulator.journal.entries(path="/oidc/token")
    assert "authorization" not in entry.headers
    assert b"client_secret=" in entry.body


def test_client_secret_basic_is_the_default(emulator: LogtoEmulator, management_app: M2MApp,
                                             connect: HookFactory) -> None:
    connect(management_app).get_access_token()
    (entry,) = emulator.journal.entries(path="/oidc/token")
    assert entry.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in entry.body


# --- dropped scopes -------------------------------------------------------------------------------------------
def test_dropped_management_scope_names_the_role(emulator: LogtoEmulator, connect: HookFactory) -> None:
    app = emulator.add_m2m_app("no roles", roles=[])
    with pytest.raises(LogtoScopeError) as raised:
        connect(app).management_request("GET", "/users")
    message = str(raised.value)
    assert raised.value.missing_scopes == ["all"]
    assert "'all'" in message and app.id in message and "Logto Management API access" in message
    assert emulator.journal.entries(path="/api/users") == []


def test_dropped_custom_scope_names_scope_and_app(emulator: LogtoEmulator, connect: HookFactory) -> None:
    emulator.add_role("reader", {"https://shopping.api": ["read:products"]})
    app = emulator.add_m2m_app("reader", roles=["reader"])
    hook = connect(app, resource="https://shopping.api", scopes="read:products write:products")
    with pytest.raises(LogtoScopeError) as raised:
        hook.get_access_token()
    assert raised.value.missing_scopes == ["write:products"]
    assert "'write:products'" in str(raised.value) and app.id in str(raised.value)
    assert hook.get_access_token(scopes="read:products")


# --- token endpoint refusals: not retried, explained ------------------------------------------------------------
def test_a_refusal_is_shared_by_waiting_threads(emulator: LogtoEmulator, management_app: M2MApp,
                                                connect: HookFactory) -> None:
    emulator.add_fault("delay", "/oidc/token", delay=0.3, count=None)
    connect(M2MApp(management_app.id, "not-the-secret", "x"))
    barrier = threading.Barrier(16)
    errors: list[Exception] = []

    def work() -> None:
        barrier.wait()
        try:
            LogtoHook("logto_default").get_access_token()
        except LogtoTokenError as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 16 and all(e.error == "invalid_client" for e in errors)
    assert token_requests(emulator) == 1


def test_a_dropped_scope_costs_one_token(emulator: LogtoEmulator, connect: HookFactory) -> None:
    hook = connect(emulator.add_m2m_app("no roles", roles=[]))
    for _ in range(5):
        with pytest.raises(LogtoScopeError):
            hook.get_access_token()
    assert emulator.tokens_issued() == 1


def test_wrong_secret_fails_at_once(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(M2MApp(management_app.id, "not-the-secret", "x"))
    with pytest.raises(LogtoTokenError) as raised:
        hook.get_access_token()
    assert token_requests(emulator) == 1
    assert str(raised.value).startswith("Logto rejected the app credentials (invalid_client")
    assert raised.value.error == "invalid_client" and raised.value.status == 401
    assert raised.value.request_id


def test_unknown_app_id(emulator: LogtoEmulator, connect: HookFactory) -> None:
    with pytest.raises(LogtoTokenError, match="does not know app ID 'ghost'"):
        connect(M2MApp("ghost", "secret-value", "x")).get_access_token()
    assert token_requests(emulator) == 1


def test_unknown_resource_names_the_exact_match_rule(emulator: LogtoEmulator, management_app: M2MApp,
                                                     connect: HookFactory) -> None:
    hook = connect(management_app)
    with pytest.raises(LogtoTokenError) as raised:
        hook.get_access_token(resource="https://shopping.api/")
    message = str(raised.value)
    assert "https://shopping.api/" in message and "trailing slash counts" in message
    assert raised.value.error == "invalid_target"
    assert token_requests(emulator) == 1


def test_expired_secret(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.expire_app_secret(management_app.id)
    with pytest.raises(LogtoTokenError, match="has expired"):
        connect(management_app).get_access_token()


def test_app_outside_organization(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    organization = emulator.add_organization("Acme")
    with pytest.raises(LogtoTokenError, match="Add the app to that organization"):
        connect(management_app).get_access_token(organization_id=organization["id"])


def test_token_quota_is_not_retried(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.set_token_quota(0)
    with pytest.raises(LogtoTokenError, match="quota") as raised:
        connect(management_app).get_access_token()
    assert raised.value.code == "auth.exceed_token_limit"
    assert token_requests(emulator) == 1


def test_basic_credentials_are_form_encoded_for_logto(emulator: LogtoEmulator, connect: HookFactory) -> None:
    """RFC 6749 §2.3.1: app ID and secret are form-encoded before Basic; Logto decodes them (``+`` is a space,
    ``%`` an escape), so a secret holding those characters still authenticates."""
    app = emulator.add_m2m_app("Odd", secret="a+b %2B c:d-_.~!*'()&=/?#é"[:-1])
    connect(app).get_access_token()
    (entry,) = emulator.journal.entries(path="/oidc/token")
    assert entry.headers["authorization"].startswith("Basic ")


def test_a_refused_basic_header_is_remembered_per_method(emulator: LogtoEmulator, connect: HookFactory) -> None:
    """A secret Basic cannot carry (Logto allows printable ASCII only) is refused as not properly encoded; the
    error says so and how to fix it, and the connection switched to client_secret_post is not answered from the
    remembered refusal: refusals are remembered per what was sent."""
    app = emulator.add_m2m_app("Accented", secret="s\u00e9cret")
    with pytest.raises(LogtoTokenError) as refused:
        connect(app).get_access_token()
    message = str(refused.value)
    assert "not properly encoded" in message and "printable ASCII" in message
    assert "set the client_auth extra to client_secret_post." in message
    with pytest.raises(LogtoTokenError):  # the same connection again: the remembered refusal, no new request
        connect(app).get_access_token()
    assert token_requests(emulator) == 1
    connect(app, client_auth="client_secret_post").get_access_token()
    assert token_requests(emulator) == 2
