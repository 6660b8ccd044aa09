"""The ``logto`` connection form as this Airflow line's own UI code builds it.

Airflow 2.11 renders a Flask/WTForms form from the hook's legacy classmethods and turns a submitted form into the
connection's extras itself; Airflow 3.0 and 3.1 feed the same classmethods to the React UI through the API server
(with wtforms mocked); Airflow 3.2+ reads ``conn-fields`` / ``ui-field-behaviour`` from ``get_provider_info()`` and
skips the classmethods. Each case runs in a fresh interpreter, because Airflow caches provider discovery per process.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from typing import Any
from unittest import mock

import pytest

from airflow_provider_logto.compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_2_PLUS,
    CONNECTION_FORM_IS_DECLARATIVE,
    CONNECTION_FORM_NEEDS_FAB,
)
from airflow_provider_logto.connection.form import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_logto.connection.settings import LogtoSettings
from airflow_provider_logto.get_provider_info import get_provider_info
from airflow_provider_logto.hooks.logto import LogtoHook

# Counts calls of the legacy classmethods, so a test can tell which path the line's UI code took.
_SPY = """
import json
from airflow_provider_logto.hooks.logto import LogtoHook

legacy_calls = []
for _name in ("get_connection_form_widgets", "get_ui_field_behaviour"):
    def _spy(cls, _original=getattr(LogtoHook, _name).__func__, _name=_name):
        legacy_calls.append(_name)
        return _original(cls)
    setattr(LogtoHook, _name, classmethod(_spy))
"""

# Airflow 3.x: what the API server hands the React UI for the connection form.
_API_SERVER = _SPY + """
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

(logto,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "logto"]
print(json.dumps({"legacy_calls": legacy_calls, "meta": logto.model_dump(mode="json")}))
"""

# Airflow 2.11: the webserver's own form class, filled in and submitted, then its own process_form().
_FLASK_WEBSERVER = _SPY + """
import flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict
from airflow.providers_manager import ProvidersManager
from airflow.www.forms import create_connection_form_class
from airflow.www.views import ConnectionModelView

app = flask.Flask(__name__)
app.config.update(WTF_CSRF_ENABLED=False, SECRET_KEY="test")
Babel(app)
submitted = MultiDict({
    "conn_id": "logto_form", "conn_type": "logto", "host": "https://abc123.logto.app",
    "login": "app-id", "password": "app-secret",
    "extra__logto__resource": "https://shopping.api", "extra__logto__scopes": "read:products",
    "extra__logto__client_auth": "client_secret_post", "extra__logto__timeout": "12",
    "extra__logto__allow_insecure_http": "y", "extra__logto__tenant_id": "",
})
with app.test_request_context(method="POST"):
    form = create_connection_form_class()(formdata=submitted)
    valid = form.validate()
    ConnectionModelView.__new__(ConnectionModelView).process_form(form, True)
    labels = {name: str(field.label.text) for name, field in form._fields.items()
              if name.startswith("extra__logto__")}
    dropdowns = {name.removeprefix("extra__logto__"): str(field()) for name, field in form._fields.items()
                 if name.startswith("extra__logto__") and str(field()).startswith("<select")}
    fresh = {name.removeprefix("extra__logto__"): str(field()) for name, field in
             create_connection_form_class()()._fields.items() if name.startswith("extra__logto__")}
    wrong = MultiDict({**submitted.to_dict(), "extra__logto__cache_sharing": "everywhere"})
    wrong_form = create_connection_form_class()(formdata=wrong)
    wrong_valid = wrong_form.validate()
    print(json.dumps({"legacy_calls": legacy_calls, "valid": valid, "errors": form.errors,
                      "dropdowns": dropdowns, "fresh": fresh, "wrong_valid": wrong_valid,
                      "wrong_errors": wrong_form.errors,
                      "extra": json.loads(form.extra.data), "labels": labels,
                      "behaviour": ProvidersManager().field_behaviours["logto"]}))
"""


def _run(code: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 3's API server form metadata; 2.11 is tested below")
def test_what_this_lines_ui_receives() -> None:
    answer = _run(_API_SERVER)
    meta = answer["meta"]
    assert meta["hook_name"] == "Logto"
    if CONNECTION_FORM_NEEDS_FAB and importlib.util.find_spec("flask_appbuilder") is None:
        # Airflow 3.0 without FAB gives no provider custom fields (its own limitation): the type is offered,
        # the extras are edited as JSON in the Extra field, and the classmethods were never reached
        assert meta["standard_fields"] is None and meta["extra_fields"] is None
        assert answer["legacy_calls"] == []
        return
    standard = meta["standard_fields"]
    assert (standard["host"]["title"], standard["login"]["title"], standard["password"]["title"]) == \
        ("Logto endpoint", "App ID", "App secret")
    assert standard["port"]["hidden"] is True and standard["url_schema"]["hidden"] is True
    assert standard["host"]["placeholder"] == UI_FIELD_BEHAVIOUR["placeholders"]["host"]
    extra = meta["extra_fields"]
    assert list(extra) == list(CONN_FIELDS)
    for name, spec in CONN_FIELDS.items():
        assert extra[name]["schema"]["title"] == spec["label"], name
        assert extra[name]["description"] == spec["description"], name
        assert extra[name]["value"] == spec["schema"].get("default"), name
    assert extra["client_auth"]["schema"]["enum"] == ["client_secret_basic", "client_secret_post"]
    assert extra["timeout"]["schema"]["type"] == ["integer", "null"]
    assert extra["allow_insecure_http"]["schema"]["type"] == ["boolean", "null"]
    assert "***" not in json.dumps(meta), "a field name Airflow treats as secret would be masked in the form"
    if CONNECTION_FORM_IS_DECLARATIVE:
        assert answer["legacy_calls"] == [], "Airflow 3.2+ must build the form from conn-fields alone"
    else:
        assert sorted(set(answer["legacy_calls"])) == ["get_connection_form_widgets", "get_ui_field_behaviour"]


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2.11's Flask webserver form")
def test_the_airflow_2_webserver_form_saves_extras_the_hook_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _run(_FLASK_WEBSERVER)
    assert sorted(set(answer["legacy_calls"])) == ["get_connection_form_widgets", "get_ui_field_behaviour"]
    assert answer["valid"], answer["errors"]
    assert answer["labels"] == {f"extra__logto__{name}": spec["label"] for name, spec in CONN_FIELDS.items()}
    behaviour = answer["behaviour"]
    assert behaviour["hidden_fields"] == UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert behaviour["relabeling"] == UI_FIELD_BEHAVIOUR["relabeling"]
    # Airflow 2 addresses the extra fields of the form by their prefixed names
    assert behaviour["placeholders"] == {name if name not in CONN_FIELDS else f"extra__logto__{name}": text
                                         for name, text in UI_FIELD_BEHAVIOUR["placeholders"].items()}
    # the choice fields are dropdowns here too (Airflow 3's UI shows the conn-fields enum as one), same choices
    choice_fields = {name: spec["schema"]["enum"] for name, spec in CONN_FIELDS.items() if "enum" in spec["schema"]}
    assert set(answer["dropdowns"]) == set(choice_fields) == {"client_auth", "cache_sharing"}
    for name, choices in choice_fields.items():
        dropdown = answer["dropdowns"][name]
        assert re.findall(r'<option [^>]*value="([^"]*)"', dropdown) == choices, name
        default = CONN_FIELDS[name]["schema"]["default"]
        assert f'<option selected value="{default}">' in answer["fresh"][name], answer["fresh"][name]
    assert '<option selected value="client_secret_post">' in answer["dropdowns"]["client_auth"]
    assert answer["wrong_valid"] is False and "extra__logto__cache_sharing" in answer["wrong_errors"]
    extra = answer["extra"]
    assert extra["resource"] == "https://shopping.api" and extra["client_auth"] == "client_secret_post"
    assert extra["cache_sharing"] == "worker"  # not submitted: the dropdown's default is saved
    assert extra["timeout"] == 12 and extra["allow_insecure_http"] is True
    # the saved connection is one the hook accepts, with the submitted values
    from airflow.models.connection import Connection

    settings = LogtoSettings.from_connection(Connection(
        conn_id="logto_form", conn_type="logto", host="https://abc123.logto.app", login="app-id",
        password="app-secret", extra=json.dumps(extra)))
    assert (settings.resource, settings.client_auth, settings.timeout) == \
        ("https://shopping.api", "client_secret_post", 12)
    assert settings.tenant_id == "abc123"


# --- both declarations stay equal (moved here from tests/hook/test_connection.py) ------------------------------
def _conn_fields_as_api() -> dict[str, Any]:
    """What Airflow 3.2+ makes of conn-fields (ProvidersManager's own conversion)."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    return {name: manager._to_api_format(name, spec) for name, spec in CONN_FIELDS.items()}


def _legacy_fields_as_api() -> dict[str, Any]:
    """What Airflow's API server makes of the legacy classmethods, with wtforms/FAB mocked as it does itself."""
    from airflow.api_fastapi.core_api.services.ui.connections import (
        HookMetaService as Meta,
    )

    modules = {name: mock.MagicMock() for name in ("wtforms", "wtforms.validators", "flask_babel",
                                                   "flask_appbuilder", "flask_appbuilder.fieldwidgets")}
    with mock.patch.dict(sys.modules, modules), \
            mock.patch("wtforms.StringField", Meta.MockStringField), \
            mock.patch("wtforms.IntegerField", Meta.MockIntegerField), \
            mock.patch("wtforms.BooleanField", Meta.MockBooleanField), \
            mock.patch("wtforms.validators.Optional", Meta.MockOptional), \
            mock.patch("wtforms.validators.any_of", Meta.MockEnum), \
            mock.patch("flask_babel.lazy_gettext", str), \
            mock.patch("flask_appbuilder.fieldwidgets.BS3TextFieldWidget", Meta.MockAnyWidget):
        widgets = LogtoHook.get_connection_form_widgets()
    return {name: widget.param.dump() for name, widget in widgets.items()}


@pytest.mark.skipif(not AIRFLOW_V_3_2_PLUS, reason="compares through Airflow 3.2+'s conn-fields converter")
def test_declarative_and_legacy_forms_are_equal() -> None:
    declarative = _conn_fields_as_api()
    legacy = _legacy_fields_as_api()
    assert list(declarative) == list(legacy)
    for name in declarative:
        assert declarative[name]["value"] == legacy[name]["value"], name
        assert declarative[name]["description"] == legacy[name]["description"], name
        # the declarative schema also repeats the default, which both carry as "value"
        assert {k: v for k, v in declarative[name]["schema"].items() if k != "default"} == legacy[name]["schema"]
    behaviour = LogtoHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert behaviour["relabeling"] == UI_FIELD_BEHAVIOUR["relabeling"]
    assert behaviour["placeholders"] == UI_FIELD_BEHAVIOUR["placeholders"]


def test_provider_info_declares_the_connection_type() -> None:
    (entry,) = get_provider_info()["connection-types"]
    assert entry["connection-type"] == "logto" and entry["hook-name"] == "Logto"
    assert entry["hook-class-name"] == f"{LogtoHook.__module__}.{LogtoHook.__name__}"
    assert {"resource", "scopes", "api_base_url", "tenant_id", "organization_id", "client_auth", "verify",
            "timeout", "allow_insecure_http"} <= set(entry["conn-fields"])


def test_masked_extra_names_are_avoided() -> None:
    from airflow.providers.common.compat.sdk import redact

    extras = {name: spec["schema"].get("default", "visible") for name, spec in CONN_FIELDS.items()}
    assert redact(extras) == extras
