"""redact_entry over real audit-log entries — written by the emulator for real token requests (client_secret_post
and Basic, failures with their error strings, echoed tokens) — and over the interaction, JWT-customizer and
user-row payloads Logto writes, plus a seeded fuzz of the shape and idempotence guarantees."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import requests

from airflow_provider_logto.audit.redaction import REDACTED, is_credential_name, redact_entry
from airflow_provider_logto.testing import LogtoEmulator, M2MApp

JWT = "eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhcHAiLCJzY29wZSI6ImFsbCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _shape(value: Any) -> Any:
    """The structure without the scalar values: keys in order, list lengths, JSON-in-strings' structure."""
    if isinstance(value, dict):
        return [(key, _shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def _post_token(emulator: LogtoEmulator, data: dict[str, str], **kwargs: Any) -> requests.Response:
    return requests.post(f"{emulator.endpoint}/oidc/token", timeout=10,
                         data={"grant_type": "client_credentials", "resource": emulator.management_api_resource,
                               "scope": "all", **data}, **kwargs)


def _entries(emulator: LogtoEmulator) -> list[dict[str, Any]]:
    return [record.entry(emulator.tenant_id) for record in emulator.state.all_logs()]


def test_client_secret_post_entry_loses_the_internal_secret_and_keeps_everything_else(
        emulator: LogtoEmulator, management_app: M2MApp) -> None:
    assert _post_token(emulator, {"client_id": management_app.id,
                                  "client_secret": management_app.secret}).status_code == 200
    entry = _entries(emulator)[-1]
    internal = entry["payload"]["params"]["client_secret"]
    original = copy.deepcopy(entry)
    redacted, count = redact_entry(entry)
    assert entry == original  # a copy: the input is untouched
    assert count == 1
    assert redacted["payload"]["params"]["client_secret"] == REDACTED
    assert internal not in json.dumps(redacted) and management_app.secret not in json.dumps(redacted)
    assert _shape(redacted) == _shape(entry)
    kept = {**entry, "payload": {**entry["payload"], "params": {**entry["payload"]["params"],
                                                                "client_secret": REDACTED}}}
    assert redacted == kept  # ids, createdAt, key, ip, applicationId, scope, tokenTypes, secret name survive
    # what was removed is what authenticates: the internal secret still works at the token endpoint
    assert requests.post(f"{emulator.endpoint}/oidc/token", auth=(management_app.id, internal), timeout=10,
                         data={"grant_type": "client_credentials",
                               "resource": emulator.management_api_resource}).status_code == 200


def test_basic_entry_has_nothing_to_redact(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    assert _post_token(emulator, {}, auth=(management_app.id, management_app.secret)).status_code == 200
    entry = _entries(emulator)[-1]
    assert redact_entry(entry) == (entry, 0)


def test_failed_requests_keep_their_error_minus_credentials(emulator: LogtoEmulator,
                                                            management_app: M2MApp) -> None:
    """A wrong posted secret (maybe a typo of the real one), a JWT and a Bearer credential in the user agent, and
    a duplicated client_secret (a list) all go; the error string stays a JSON string with its codes."""
    _post_token(emulator, {"client_id": management_app.id, "client_secret": management_app.secret + "x"},
                headers={"User-Agent": f"airflow/3 (debug; Authorization: Bearer {JWT})"})
    _post_token(emulator, {"client_id": management_app.id}, auth=(management_app.id, "wrong"))
    requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data=[
        ("grant_type", "client_credentials"), ("client_id", management_app.id),
        ("client_secret", "first-secret-value"), ("client_secret", "second-secret-value")])
    wrong_post, wrong_basic, duplicated = _entries(emulator)[-3:]
    redacted, count = redact_entry(wrong_post)
    assert count == 2
    assert redacted["payload"]["params"]["client_secret"] == REDACTED
    assert redacted["payload"]["userAgent"] == f"airflow/3 (debug; Authorization: Bearer {REDACTED})"
    error = json.loads(redacted["payload"]["error"])
    assert error["error"] == "invalid_client" and error["error_detail"] == "invalid secret provided"
    assert redacted["payload"]["error"] == wrong_post["payload"]["error"]  # nothing in it: byte for byte
    assert redact_entry(wrong_basic) == (wrong_basic, 0)
    redacted, count = redact_entry(duplicated)
    assert redacted["payload"]["params"]["client_secret"] == [REDACTED, REDACTED] and count == 2
    assert json.loads(redacted["payload"]["error"])["error"] == "invalid_request"


def test_credentials_inside_an_error_string_are_removed_and_it_stays_json(emulator: LogtoEmulator) -> None:
    error = json.dumps({"stack": f"Error: bad\n    at x (Authorization: Basic {'QWxhZGRpbjpvcGVuIHNlc2FtZQ' * 2})",
                        "message": "token request failed: client_secret=#internal:abcdefABCDEF0123",
                        "data": {"refresh_token": "rt-123456", "code": "oidc.invalid_grant"}})
    entry = emulator.add_log("ExchangeTokenBy.RefreshToken", result="Error", application_id="app1",
                             payload={"error": error, "params": {"grant_type": "refresh_token",
                                                                 "refresh_token": "rt-123456"}})
    redacted, count = redact_entry(entry)
    assert count == 4
    inner = json.loads(redacted["payload"]["error"])
    assert inner["stack"].endswith(f"Basic {REDACTED})")
    assert inner["message"] == f"token request failed: client_secret={REDACTED}"
    assert inner["data"] == {"refresh_token": REDACTED, "code": "oidc.invalid_grant"}
    assert redacted["payload"]["params"] == {"grant_type": "refresh_token", "refresh_token": REDACTED}
    assert "rt-123456" not in json.dumps(redacted) and "#internal:" not in json.dumps(redacted)
    assert redacted["payload"]["applicationId"] == "app1"


def test_every_grants_parameters(emulator: LogtoEmulator) -> None:
    params = {"grant_type": "authorization_code", "code": "SplxlOBeZQQYbYS6WxSbIA", "code_verifier": "dBjftJeZ4CVP",
              "redirect_uri": "https://app.example/callback?code=abcdEFGH1234&state=xyz", "client_id": "c1",
              "client_assertion": JWT,
              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              "subject_token": "st-secret", "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
              "actor_token": "at-secret", "refresh_token": "rt", "resource": "https://api.example", "scope": "a b"}
    entry = emulator.add_log("ExchangeTokenBy.AuthorizationCode", payload={"params": params})
    redacted, count = redact_entry(entry)
    out = redacted["payload"]["params"]
    for name in ("code", "code_verifier", "client_assertion", "subject_token", "actor_token", "refresh_token"):
        assert out[name] == REDACTED, name
    assert out["redirect_uri"] == f"https://app.example/callback?code={REDACTED}&state=xyz"
    for name in ("grant_type", "client_id", "client_assertion_type", "subject_token_type", "resource", "scope"):
        assert out[name] == params[name], name
    assert count == 7


def test_interaction_and_user_payloads(emulator: LogtoEmulator) -> None:
    payload = {
        "interaction": {"verificationRecords": [
            {"id": "v1", "type": "BackupCode", "userId": "u1", "code": "a1b2c3d4e5", "backupCodes": ["x1", "x2"]},
            {"id": "v2", "type": "Totp", "userId": "u1", "secret": "******", "verified": True},
            {"id": "v3", "type": "NewPasswordIdentity", "passwordEncrypted": "$argon2i$v=19$m=4096,t=10,p=1$abc",
             "passwordEncryptionMethod": "Argon2i"},
            {"id": "v4", "type": "Social", "connectorId": "github",
             "encryptedTokenSet": {"encryptedTokenSetBase64": "QUJD", "metadata": {"scope": "read"}},
             "connectorSession": {"state": "s", "codeVerifier": "cv-secret", "redirectUri": "https://x"}},
            {"id": "v5", "type": "EmailVerificationCode", "identifier": {"type": "email", "value": "a@b.c"},
             "templateType": "SignIn", "verified": True}]},
        "user": {"id": "u1", "username": "alice", "passwordEncrypted": "5f4dcc3b", "hasPassword": True,
                 "mfaVerifications": [{"id": "m1", "type": "Totp", "key": "JBSWY3DPEHPK3PXP", "createdAt": "2024"},
                                      {"id": "m2", "type": "BackupCode",
                                       "codes": [{"code": "c0de1", "usedAt": None}]}]},
        "error": {"message": "Incorrect account or password.", "code": "session.invalid_credentials"},
    }
    entry = emulator.add_log("Interaction.SignIn.Submit", user_id="u1", result="Error", payload=payload)
    redacted, count = redact_entry(entry)
    records = redacted["payload"]["interaction"]["verificationRecords"]
    assert records[0]["code"] == REDACTED and records[0]["backupCodes"] == [REDACTED, REDACTED]
    assert records[0]["type"] == "BackupCode" and records[0]["userId"] == "u1"
    assert records[1]["secret"] == REDACTED and records[1]["verified"] is True
    assert records[2]["passwordEncrypted"] == REDACTED and records[2]["passwordEncryptionMethod"] == "Argon2i"
    assert records[3]["encryptedTokenSet"]["encryptedTokenSetBase64"] == REDACTED
    assert records[3]["encryptedTokenSet"]["metadata"] == {"scope": "read"}
    assert records[3]["connectorSession"] == {"state": "s", "codeVerifier": REDACTED, "redirectUri": "https://x"}
    assert records[4] == payload["interaction"]["verificationRecords"][4]
    user = redacted["payload"]["user"]
    assert user["passwordEncrypted"] == REDACTED and user["hasPassword"] is True and user["username"] == "alice"
    assert user["mfaVerifications"][0] == {"id": "m1", "type": "Totp", "key": REDACTED, "createdAt": "2024"}
    assert user["mfaVerifications"][1]["codes"] == [{"code": REDACTED, "usedAt": None}]
    assert redacted["payload"]["error"] == payload["error"]
    assert redacted["key"] == entry["key"] and redacted["payload"]["key"] == entry["payload"]["key"]
    assert count == 10
    assert _shape(redacted) == _shape(entry)


def test_jwt_customizer_payload_keeps_the_claims(emulator: LogtoEmulator) -> None:
    payload = {"payload": {"token": {"jti": "j1", "sub": "app1", "scope": "all", "aud": "https://api"},
                           "tokenType": "ClientCredentials", "context": {"application": {"id": "app1"}}},
               "customTokenClaims": {"tier": "gold"}, "applicationId": "app1", "tenantId": "default"}
    entry = emulator.add_log("JwtCustomizer.ClientCredentials", payload=payload)
    assert redact_entry(entry) == (entry, 0)


def test_secrets_registered_with_airflows_masker_are_removed(emulator: LogtoEmulator) -> None:
    from airflow.providers.common.compat.sdk import mask_secret

    mask_secret("a-connection-password-Zq81")
    entry = emulator.add_log("Unknown", payload={"note": "login with a-connection-password-Zq81 failed"})
    redacted, count = redact_entry(entry)
    assert redacted["payload"]["note"] == f"login with {REDACTED} failed" and count == 1


def test_names(emulator: LogtoEmulator) -> None:
    for name in ("client_secret", "applicationSecret", "password", "newPassword", "access_token", "idToken",
                 "subject_token", "client_assertion", "code_verifier", "Authorization", "set-cookie",
                 "private_key", "x-api-key", "backupCodes", "verificationCode", "ssoSessionId", "credentials"):
        assert is_credential_name(name), name
    for name in ("tokenTypes", "token_type", "client_assertion_type", "passwordEncryptionMethod", "key", "id",
                 "applicationId", "userId", "createdAt", "ip", "userAgent", "scope", "result", "statusCode",
                 "errorCode", "countryCode", "secretExpiresAt", "credentialId", "grantId", "sessionId"):
        assert not is_credential_name(name), name


def test_fuzz_shape_kept_secrets_gone_and_idempotent() -> None:
    """Random JSON-like entries with secrets planted under credential names and inside text."""
    rng = random.Random(16)
    plain_names = ["id", "name", "ip", "userAgent", "scope", "result", "applicationId", "createdAt", "note"]
    secret_names = ["client_secret", "password", "refresh_token", "code_verifier", "assertion", "apiKey"]
    planted: list[str] = []

    def secret() -> str:
        value = "s3cr3t" + "".join(rng.choice("abcdefghijkLMNOP0123456789") for _ in range(12))
        planted.append(value)
        return value

    def build(depth: int) -> Any:
        kind = rng.random()
        if depth > 3 or kind < 0.3:
            return rng.choice([1, 2.5, True, None, "plain text", "ip 10.0.0.1", f"Bearer {secret()}xxxxxxxxxx"])
        if kind < 0.5:
            return [build(depth + 1) for _ in range(rng.randrange(4))]
        node: dict[str, Any] = {}
        for _ in range(rng.randrange(1, 5)):
            if rng.random() < 0.3:
                node[rng.choice(secret_names)] = secret()
            else:
                node[rng.choice(plain_names)] = build(depth + 1)
        return node

    for _ in range(300):
        entry = {"tenantId": "default", "id": "x" * 21, "key": "Unknown", "payload": build(0), "createdAt": 1}
        redacted, count = redact_entry(entry)
        text = json.dumps(redacted)
        assert not [value for value in planted if value in text]
        assert _shape(redacted) == _shape(entry)
        assert redacted["id"] == entry["id"] and redacted["createdAt"] == 1 and redacted["key"] == "Unknown"
        assert redact_entry(redacted) == (redacted, 0)
        assert count >= 0
        planted.clear()


def test_credentials_in_text_that_is_not_json(emulator: LogtoEmulator) -> None:
    """An HTML error page echoing the form, a truncated JSON body, a callback URL: still found inside text."""
    text = ('<pre>{"client_secret": "cs-1", "code": "oidc.invalid_client", "refresh_token": "rt-1"</pre> '
            'GET /callback?code=ac-1&state=s id_token=it-1 \\"password\\":\\"pw-1\\"')
    entry = emulator.add_log("Unknown", payload={"note": text})
    redacted, count = redact_entry(entry)
    note = redacted["payload"]["note"]
    assert count == 5
    for value in ("cs-1", "rt-1", "ac-1", "it-1", "pw-1"):
        assert value not in note, value
    assert '"code": "oidc.invalid_client"' in note and "state=s" in note


def test_exceptions_scrub_shares_the_patterns() -> None:
    from airflow_provider_logto.exceptions import scrub

    assert scrub(f"echo: client_secret=#internal:abc Bearer {JWT}") == "echo: client_secret=*** Bearer ***"
