"""Contract: the sample "Online Shopping" API checks tokens like a real resource server."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import access_token


@pytest.fixture
def shop_app(emulator: LogtoEmulator) -> M2MApp:
    emulator.add_role("shop", {"https://shopping.api": ["read:products", "write:products"]})
    return emulator.add_m2m_app("shop", roles=["shop"])


def _get(emulator: LogtoEmulator, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{emulator.resource_api_url}/products", headers=headers, timeout=5)


def test_served_on_its_own_port(emulator: LogtoEmulator) -> None:
    assert emulator.resource_api_url != emulator.endpoint


def test_read_and_write_with_the_right_scopes(emulator: LogtoEmulator, shop_app: M2MApp) -> None:
    token = access_token(emulator, shop_app, "https://shopping.api", "read:products write:products")
    listed = _get(emulator, token)
    assert listed.status_code == 200 and len(listed.json()) == 2
    created = requests.post(f"{emulator.resource_api_url}/products", json={"name": "Sticker", "price": 1.0},
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert created.status_code == 201 and created.json()["name"] == "Sticker"
    assert len(_get(emulator, token).json()) == 3


def test_missing_token_is_401(emulator: LogtoEmulator) -> None:
    response = _get(emulator, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_scope_is_403_insufficient_scope(emulator: LogtoEmulator, shop_app: M2MApp) -> None:
    token = access_token(emulator, shop_app, "https://shopping.api", "read:products")
    response = requests.post(f"{emulator.resource_api_url}/products", json={"name": "x"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "insufficient_scope"


def test_token_for_another_audience_is_401(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = _get(emulator, access_token(emulator, management_app))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_expired_token_is_401(emulator: LogtoEmulator, shop_app: M2MApp) -> None:
    emulator.set_access_token_ttl("https://shopping.api", 1)
    token = access_token(emulator, shop_app, "https://shopping.api", "read:products")
    assert _get(emulator, token).status_code == 200
    time.sleep(1.1)
    assert _get(emulator, token).status_code == 401


def test_token_from_another_issuer_is_401(emulator: LogtoEmulator) -> None:
    with LogtoEmulator() as other:
        other.add_role("shop", {"https://shopping.api": ["read:products"]})
        foreign = access_token(other, other.add_m2m_app("x", roles=["shop"]), "https://shopping.api",
                               "read:products")
    assert _get(emulator, foreign).status_code == 401
