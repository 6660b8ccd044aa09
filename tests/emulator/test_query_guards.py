"""Contract: the list routes' query guards as Logto v1.37.1 declares them (``koaGuard({ query })`` in
``routes/applications/application.ts``, ``routes/role.ts``, ``routes/resource.ts``). koa's parser hands zod a
string, or an array when the parameter repeats; a value the guard refuses is 400 ``guard.invalid_input`` with
the ZodError in ``data`` — never a silently empty or unfiltered list."""

from __future__ import annotations

import pytest

from airflow_provider_logto.testing import LogtoEmulator
from tests.emulator.helpers import Api

TYPES = "'Native' | 'SPA' | 'Traditional' | 'MachineToMachine' | 'Protected' | 'SAML'"


def _refused(response, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "guard.invalid_input" and body["data"]["name"] == "ZodError"
    issues = body["data"]["issues"]
    assert [issue["path"][0] for issue in issues] == [key]
    return issues


def test_unknown_application_type_is_refused(api: Api) -> None:
    issues = _refused(api("GET", "/applications", params={"types": "Bogus"}), "types")
    assert issues[0]["code"] == "invalid_union"
    many, one = (error["issues"] for error in issues[0]["unionErrors"])
    assert many[0]["code"] == "invalid_type" and many[0]["expected"] == "array"
    assert one[0]["code"] == "invalid_enum_value" and one[0]["received"] == "Bogus"
    assert one[0]["message"] == f"Invalid enum value. Expected {TYPES}, received 'Bogus'"
    assert api("GET", "/applications", params={"types": ["MachineToMachine", "Bogus"]}).status_code == 400


def test_application_types_repeat_and_are_never_comma_split(emulator: LogtoEmulator, api: Api) -> None:
    emulator.add_m2m_app("worker")
    assert api("GET", "/applications", params={"types": "MachineToMachine,SPA"}).status_code == 400
    one = api("GET", "/applications", params={"types": "MachineToMachine"}).json()
    both = api("GET", "/applications", params={"types": ["MachineToMachine", "SPA"]}).json()
    assert one and one == both and {app["type"] for app in one} == {"MachineToMachine"}
    assert api("GET", "/applications", params={"types": "SPA"}).json() == []


@pytest.mark.parametrize("params", [{"isThirdParty": "yes"}, {"isThirdParty": ["true", "true"]}])
def test_is_third_party_takes_true_or_false_once(api: Api, params: dict) -> None:
    issues = _refused(api("GET", "/applications", params=params), "isThirdParty")
    assert issues[0]["code"] == "invalid_union"
    assert api("GET", "/applications", params={"isThirdParty": "false"}).status_code == 200


def test_repeated_string_parameters_are_refused(api: Api) -> None:
    issues = _refused(api("GET", "/applications", params={"excludeRoleId": ["a", "b"]}), "excludeRoleId")
    assert issues[0]["message"] == "Expected string, received array"
    _refused(api("GET", "/roles", params={"excludeUserId": ["a", "b"]}), "excludeUserId")
    _refused(api("GET", "/resources", params={"includeScopes": ["true", "true"]}), "includeScopes")
    _refused(api("GET", "/organizations", params={"q": ["a", "b"]}), "q")
    _refused(api("GET", "/organizations", params={"showFeatured": ["true", "true"]}), "showFeatured")
    _refused(api("GET", "/organization-roles", params={"q": ["a", "b"]}), "q")


def test_role_type_enum(api: Api) -> None:
    issues = _refused(api("GET", "/roles", params={"type": "Bogus"}), "type")
    assert issues[0]["message"] == "Invalid enum value. Expected 'User' | 'MachineToMachine', received 'Bogus'"
    assert api("GET", "/roles", params={"type": "MachineToMachine"}).status_code == 200
