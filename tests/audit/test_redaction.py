"""``redact_entry``: every credential value replaced, the entry's shape kept, the replacements counted."""

from __future__ import annotations

import json

from airflow_provider_logto.audit.redaction import REDACTED, redact_entry

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU"


def test_credentials_are_replaced_and_the_shape_kept() -> None:
    entry = {"tenantId": "default", "id": "abc", "key": "ExchangeTokenBy.ClientCredentials", "createdAt": 1,
             "payload": {"key": "ExchangeTokenBy.ClientCredentials", "result": "Error", "ip": "10.0.0.1",
                         "applicationId": "app-1", "tokenTypes": ["AccessToken"], "scope": "all",
                         "params": {"grant_type": "client_credentials", "client_id": "app-1",
                                    "client_secret": "#internal:abcdef", "client_assertion": JWT,
                                    "code_verifier": "v" * 43, "refresh_token": "r-123", "code": "c-9"},
                         "headers": {"Authorization": "Basic YXBwOnNlY3JldA==", "cookie": ["a=1", "b=2"]},
                         "user": {"password": "hunter2", "passwordEncrypted": None, "accessToken": ""},
                         "error": json.dumps({"message": f"upstream answered Bearer {JWT}",
                                              "params": {"client_secret": "#internal:abcdef"}}),
                         "note": "the internal form #internal:abcdef leaked into text"}}
    redacted, count = redact_entry(entry)
    payload = redacted["payload"]
    assert payload["params"] == {"grant_type": "client_credentials", "client_id": "app-1",
                                 "client_secret": REDACTED, "client_assertion": REDACTED,
                                 "code_verifier": REDACTED, "refresh_token": REDACTED, "code": REDACTED}
    assert payload["headers"] == {"Authorization": REDACTED, "cookie": [REDACTED, REDACTED]}
    assert payload["user"] == {"password": REDACTED, "passwordEncrypted": None, "accessToken": ""}
    assert payload["tokenTypes"] == ["AccessToken"] and payload["scope"] == "all"  # not credentials
    error = json.loads(payload["error"])
    assert error["params"]["client_secret"] == REDACTED and JWT not in error["message"]
    assert "#internal:" not in json.dumps(redacted)
    assert count == 12
    assert set(redacted) == set(entry) and entry["payload"]["params"]["client_secret"] == "#internal:abcdef"


def test_an_entry_without_credentials_is_unchanged() -> None:
    entry = {"id": "x", "key": "Interaction.Create", "createdAt": 5,
             "payload": {"key": "Interaction.Create", "result": "Success", "userAgent": "Mozilla/5.0"}}
    assert redact_entry(entry) == (entry, 0)


def test_secrets_airflow_masks_are_removed_from_text() -> None:
    from airflow.providers.common.compat.sdk import mask_secret

    mask_secret("app-secret-registered-by-the-hook")
    redacted, count = redact_entry({"id": "y", "payload": {"message": "saw app-secret-registered-by-the-hook"}})
    assert "app-secret-registered-by-the-hook" not in json.dumps(redacted) and count == 1
