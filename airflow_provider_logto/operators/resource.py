"""``LogtoResourceApiOperator``: call your own API protected by Logto, with an M2M token for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoError
from airflow_provider_logto.operators._shaping import call_with_context, check_callable, outgoing, shaped

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class LogtoResourceApiOperator(BaseOperator):
    """Call an endpoint of the connection's ``api_base_url`` with a bearer token for ``resource`` and ``scopes``.

    :param endpoint: path under ``api_base_url``, e.g. ``/products`` (templated).
    :param method: GET, POST, PUT, PATCH or DELETE (templated).
    :param resource: API resource indicator, e.g. ``https://shopping.api``; default: the connection's
        ``resource`` extra (templated).
    :param scopes: scopes to request (space-separated string or list); default: the connection's ``scopes``
        for its own resource (templated).
    :param query_params: query parameters (templated); ``params`` is Airflow's own task-params argument.
    :param json: request body (templated).
    :param headers: extra request headers; ``Authorization`` is refused (templated).
    :param response_check: ``response_check(result, **context)``; a falsy answer fails the task.
    :param response_filter: shapes the XCom value; must return JSON-serialisable data.
    :param redact_secrets: before the answer reaches ``response_check``, ``response_filter`` and XCom, values
        under sensitive keys (``secret``, ``password``, ``token``, …), registered secrets and bearer/Basic
        credentials or JWTs in text become ``***`` (the same redaction as the Management API operator).
    :param logto_conn_id: the ``logto`` connection (templated).

    A write that failed after it was sent raises with ``outcome_unknown=True``; a retried task sends it again.
    """

    template_fields: Sequence[str] = ("logto_conn_id", "method", "endpoint", "resource", "scopes", "query_params",
                                      "json", "headers")
    template_fields_renderers = {"query_params": "json", "json": "json", "headers": "json"}
    ui_color = "#e4e0f7"

    def __init__(self, *, endpoint: str, method: str = "GET", resource: str | None = None,
                 scopes: str | list[str] | None = None, query_params: Mapping[str, Any] | None = None,
                 json: Any = None, headers: Mapping[str, str] | None = None,
                 response_check: Callable[..., Any] | None = None,
                 response_filter: Callable[..., Any] | None = None, redact_secrets: bool = True,
                 logto_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.method = method
        self.resource = resource
        self.scopes = scopes
        self.query_params = query_params
        self.json = json
        self.headers = headers
        self.response_check = response_check
        self.response_filter = response_filter
        self.redact_secrets = redact_secrets
        self.logto_conn_id = logto_conn_id

    def execute(self, context: Context) -> Any:
        from airflow_provider_logto.hooks.logto import LogtoHook

        check_callable("response_check", self.response_check)
        check_callable("response_filter", self.response_filter)
        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        result = hook.resource_request(self.method, self.endpoint, resource=self.resource or None,
                                       scopes=self.scopes or None, params=self.query_params, json=self.json,
                                       headers=self.headers)
        result = outgoing(result, "the answer", redact_secrets=self.redact_secrets)
        if self.response_check is not None and not call_with_context(self.response_check, result, context):
            raise LogtoError(f"response_check rejected the answer of {str(self.method).upper()} {self.endpoint}")
        return shaped(self.response_filter, result, context, redact_secrets=False)
