"""The ``logto`` connection form, declared once as data.

Airflow 3.2+ reads :data:`CONN_FIELDS` and :data:`UI_FIELD_BEHAVIOUR` from ``get_provider_info()`` without
importing the hook; Airflow 2.11–3.1 call the hook's legacy classmethods, which are generated from the same
data. Field names avoid the words Airflow masks in extras (token, secret, password, proxy, …), so defaults are
shown as they are.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "logto"
DEFAULT_CONN_ID = "logto_default"
HOOK_NAME = "Logto"
HOOK_CLASS_NAME = "airflow_provider_logto.hooks.logto.LogtoHook"

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
TOKEN_CACHE_MODES = ("process", "worker", "deployment")
DEFAULT_TOKEN_CACHE = "worker"
# Also accepted for cache_sharing. Airflow masks the value of every extra whose name contains "token", so with
# this name the mode word ("process", "worker", …) would be replaced by *** in the task logs and the UI.
TOKEN_CACHE_ALIAS = "token_cache"
DEFAULT_TIMEOUT = 30
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_DEADLINE = 120
DEFAULT_RETRY_BACKOFF_MS = 500


def _field(label: str, kind: str, description: str, default: Any = None, **schema: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": [kind, "null"], **schema}
    if default is not None:
        body["default"] = default
    return {"label": label, "schema": body, "description": description}


# conn-fields: one entry per connection extra, in the order the form shows them.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "resource": _field(
        "Default API resource", "string",
        "API resource indicator for tokens when a task names none, e.g. https://shopping.api. "
        "Empty: the Logto Management API of this tenant."),
    "scopes": _field(
        "Default scopes", "string", "Space-separated scopes requested with the default API resource."),
    "api_base_url": _field(
        "Custom API base URL", "string",
        "Base URL of your own API protected by Logto; resource API calls may only go there."),
    "tenant_id": _field(
        "Tenant ID", "string",
        "Management API tenant: derived from https://<tenant>.logto.app, 'default' for self-hosted Logto. "
        "Set it for a custom domain on Logto Cloud."),
    "organization_id": _field(
        "Organization ID", "string", "Request organization tokens for this organization (custom APIs only)."),
    "client_auth": _field(
        "Client authentication", "string", "How the app ID and secret are sent to the token endpoint.",
        default=CLIENT_AUTH_METHODS[0], enum=list(CLIENT_AUTH_METHODS)),
    "verify": _field(
        "TLS verification", "string", "true (default), false, or the path of a CA bundle file."),
    "timeout": _field(
        "Timeout (seconds)", "integer", "Connect and read timeout of each HTTP request.", default=DEFAULT_TIMEOUT),
    "max_attempts": _field(
        "Attempts per request", "integer",
        "Retry budget: attempts per request on connection errors, timeouts, 429 and 5xx (see the docs).",
        default=DEFAULT_MAX_ATTEMPTS),
    "retry_deadline": _field(
        "Retry deadline (seconds)", "integer", "Retry budget: total time one request may spend retrying.",
        default=DEFAULT_RETRY_DEADLINE),
    "retry_backoff_ms": _field(
        "First retry backoff (ms)", "integer",
        "Wait before the first retry when Logto sends no Retry-After; doubles per attempt, with jitter.",
        default=DEFAULT_RETRY_BACKOFF_MS),
    "cache_sharing": _field(
        "Token cache sharing", "string",
        "Who shares a token: 'worker' — every task process of a worker, through encrypted files; 'deployment' — "
        "every task of the deployment, through encrypted Airflow Variables (for executors that start each task "
        "in a fresh container); 'process' — one process only.",
        default=DEFAULT_TOKEN_CACHE, enum=list(TOKEN_CACHE_MODES)),
    "allow_insecure_http": _field(
        "Allow plain HTTP to non-local hosts", "boolean",
        "Off: http:// is refused unless the host is loopback, so a secret never crosses a network in clear.",
        default=False),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"host": "Logto endpoint", "login": "App ID", "password": "App secret"},
    "placeholders": {
        "host": "https://your-tenant.logto.app",
        "login": "M2M app ID",
        "password": "M2M app secret",
        "resource": "https://shopping.api",
        "scopes": "read:products write:products",
        "api_base_url": "https://api.example.com",
        "tenant_id": "default",
        "verify": "true",
    },
}


def connection_type_info() -> dict[str, Any]:
    """The ``connection-types`` entry of ``get_provider_info()``."""
    return {
        "connection-type": CONN_TYPE,
        "hook-class-name": HOOK_CLASS_NAME,
        "hook-name": HOOK_NAME,
        "conn-fields": CONN_FIELDS,
        "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
    }


def legacy_field_behaviour() -> dict[str, Any]:
    """:data:`UI_FIELD_BEHAVIOUR` in the shape of the legacy ``get_ui_field_behaviour()``."""
    return {
        "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
        "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
        "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
    }


class ChoicesWidget:
    """Draws a text field as a ``<select>`` of fixed choices (Airflow 2.11's Flask form), preselecting the field's
    value, else its default; the field's ``any_of`` validator still checks what is submitted."""

    def __init__(self, choices: list[str]) -> None:
        self.choices = tuple(choices)

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        from markupsafe import Markup, escape
        from wtforms.widgets import html_params

        kwargs.setdefault("id", field.id)
        kwargs["class"] = f"form-control {kwargs.get('class', '')}".strip()
        current = field.data if field.data not in (None, "") else field.default
        rendered = "".join(f"<option {html_params(selected=choice == current, value=choice)}>{escape(choice)}</option>"
                           for choice in self.choices)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{rendered}</select>")


def legacy_form_widgets() -> dict[str, Any]:
    """:data:`CONN_FIELDS` as the wtforms fields of the legacy ``get_connection_form_widgets()``.

    A field with choices (``enum``) is a dropdown on every line: Airflow 2.11 accepts only String, Integer,
    Password and Boolean fields, so there it is a ``StringField`` drawn by :class:`ChoicesWidget`; Airflow 3.0/3.1's
    API server turns a text field with an ``any_of`` validator into a JSON-schema ``enum``, which its React form
    shows as a dropdown. Imports flask/wtforms only when called: Airflow 3.2+ never calls it.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional, any_of

    from airflow_provider_logto.compat import AIRFLOW_V_3_0_PLUS

    field_classes = {"string": StringField, "integer": IntegerField, "boolean": BooleanField}
    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        field_class = field_classes[schema["type"][0]]
        validators = [Optional()]
        if "enum" in schema:
            validators.append(any_of(schema["enum"]))
        options: dict[str, Any] = {"validators": validators, "description": spec["description"],
                                   "default": schema.get("default")}
        if "enum" in schema and not AIRFLOW_V_3_0_PLUS:
            options["widget"] = ChoicesWidget(schema["enum"])
        elif field_class is not BooleanField:
            options["widget"] = BS3TextFieldWidget()
        widgets[name] = field_class(lazy_gettext(spec["label"]), **options)
    return widgets
